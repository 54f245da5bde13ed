/**
 * The bits of HTTP's grammar the gateway checks text against, in one place: what the proxy
 * writes on (request heads, `Forwarded` values, reason phrases) and what it is configured with.
 */

/** RFC 9110 §5.6.2 `token`: a method, a field name, a transfer coding, a `Forwarded` value written bare. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Text a field value or a reason phrase may hold (RFC 9110 §5.5, RFC 9112 §4): HTAB, SP,
 * visible ASCII and obs-text; no CR, LF, NUL or other control character, which would end
 * the line early.
 */
export const FIELD_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;
