/**
 * Reading the raw response headers undici's HTTP/1.1 parser hands over (`Buffer` name and
 * value pairs) without turning them into strings: the dispatcher looks at two headers of every
 * response, and a string per header is garbage on the hottest path there is.
 */

/** Whether `name` (raw bytes, any case) is the lower-case ASCII header name `lower`. */
export function isHeaderName(name: Buffer | string, lower: Buffer): boolean {
  if (typeof name === 'string') return name.toLowerCase() === lower.toString('latin1');
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (toLowerAscii(name[i] as number) !== lower[i]) return false;
  }
  return true;
}

const CLOSE = Buffer.from('close', 'latin1');
const COMMA = 0x2c;

/**
 * Whether a `Connection` header value lists the `close` option (RFC 9110 §7.6.1: a
 * comma-separated list of tokens, any case, optional whitespace), e.g. `close`,
 * `Keep-Alive, Close`; not `closed` or `x-close`.
 */
export function listsCloseOption(value: Buffer | string): boolean {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(COMMA, start);
    if (end === -1) end = bytes.length;
    if (isToken(bytes, start, end, CLOSE)) return true;
    start = end + 1;
  }
  return false;
}

/** Whether `bytes[start, end)`, less surrounding whitespace, is `lower` in any case. */
function isToken(bytes: Buffer, start: number, end: number, lower: Buffer): boolean {
  while (start < end && isWhitespace(bytes[start] as number)) start++;
  while (end > start && isWhitespace(bytes[end - 1] as number)) end--;
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (toLowerAscii(bytes[start + i] as number) !== lower[i]) return false;
  }
  return true;
}

function isWhitespace(byte: number): boolean {
  // SP, HTAB (RFC 9110's OWS), and the other ASCII whitespace a lenient reader skips too.
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** ASCII letters differ from their lower case by the 0x20 bit; other bytes stay as they are. */
function toLowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}
