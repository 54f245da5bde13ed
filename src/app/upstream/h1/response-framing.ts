import { H1_PROBLEMS } from './problems.js';
import type { ResponseHeadBuilder } from './response-head.js';

/**
 * What is wrong with how a head frames its body, or null; on null a Content-Length is in
 * `head.contentLengthValue`. Checked on every head, with or without a body (an interim one, the
 * answer to HEAD, a 204 or 304 too): an answer that states its framing wrongly is not trusted.
 */
export function framingProblemOf(head: ResponseHeadBuilder): string | null {
  if (head.transferEncodingCount > 0) {
    if (head.contentLengthCount > 0) return H1_PROBLEMS.bothLengthAndChunked;
    const coding = head.transferEncoding;
    // One field, exactly `chunked`: the gateway re-frames bodies and cannot carry another coding.
    if (head.transferEncodingCount > 1 || coding.length !== 7 || coding.toLowerCase() !== 'chunked') return H1_PROBLEMS.notChunked;
    return null;
  }
  if (head.contentLengthCount === 0) return null;
  // Node's parser rejects a repeated Content-Length even with equal values: as strict here.
  if (head.contentLengthCount > 1) return H1_PROBLEMS.lengthRepeated;
  const value = head.contentLength;
  if (value.length === 0) return H1_PROBLEMS.lengthNotANumber;
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return H1_PROBLEMS.lengthNotANumber;
    // Exact up to 2^53; past it the sum stays past it, which is all the check below needs.
    length = length * 10 + (c - 0x30);
  }
  if (length > Number.MAX_SAFE_INTEGER) return H1_PROBLEMS.lengthTooLarge;
  head.contentLengthValue = length;
  return null;
}

/** Whether the connection may carry another exchange after this answer (RFC 9112 section 9.3): HTTP/1.1 unless `close`; HTTP/1.0 only with `keep-alive`. */
export function persists(head: ResponseHeadBuilder): boolean {
  const connection = head.headers.connection;
  const http11 = head.httpVersion === '1.1';
  if (connection === undefined) return http11;
  let close = false;
  let keepAlive = false;
  for (const option of connection.split(',')) {
    const token = option.trim().toLowerCase();
    if (token === 'close') close = true;
    else if (token === 'keep-alive') keepAlive = true;
  }
  return !close && (http11 || keepAlive);
}
