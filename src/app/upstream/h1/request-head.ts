import type { OutgoingHttpHeaders } from 'node:http';
import { FIELD_TEXT, TOKEN } from '../../http-grammar.js';
import { UpstreamError } from '../upstream.errors.js';

/** What a request target may not hold: no whitespace, no control characters. */
const NOT_IN_TARGET = /[^\x21-\x7e\x80-\xff]/;

/**
 * The head of a request to the upstream, as HTTP/1.1 writes it (RFC 9112 §3): request line,
 * `Host`, then `headers` (lower-case names, as the proxy builds them; an array value is one
 * field line per element), each on its own line.
 *
 * Everything is checked before it is written, as Node's `ClientRequest` checks it: a method
 * or field name that is not a token, or a CR, LF, NUL or other control character in a value
 * or the target, would let a client's bytes be read by the upstream as another field or
 * another request. Node's server parser refuses such requests already; this is the second
 * line, where it matters most.
 *
 * @throws UpstreamError (`UPSTREAM_PROTOCOL_ERROR`, 502) naming the field, never its value.
 */
export function requestHead(method: string, target: string, host: string, headers: OutgoingHttpHeaders): string {
  if (!TOKEN.test(method)) throw unwritable('its method is not a token');
  if (NOT_IN_TARGET.test(target)) throw unwritable('its target holds whitespace or control characters');
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!TOKEN.test(name)) throw unwritable('a header field name is not a token');
    if (typeof value === 'string') head += fieldLine(name, value);
    else if (typeof value === 'number') head += `${name}: ${value}\r\n`;
    else for (const each of value) head += fieldLine(name, each);
  }
  return `${head}\r\n`;
}

function fieldLine(name: string, value: string): string {
  if (!FIELD_TEXT.test(value)) throw unwritable(`the value of its ${name} header field holds characters a field may not`);
  return `${name}: ${value}\r\n`;
}

function unwritable(problem: string): UpstreamError {
  return new UpstreamError('UPSTREAM_PROTOCOL_ERROR', 502, `The request cannot be forwarded as HTTP/1.1: ${problem}.`);
}
