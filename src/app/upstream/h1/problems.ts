/**
 * Why an upstream's bytes cannot be an HTTP/1.1 answer, as {@link H1ResponseParser} reports
 * it. Each phrase is a lower-case clause that reads after "The upstream X gave an answer that
 * cannot be forwarded: ". None of them carries the offending bytes: they could hold secrets.
 */
export const H1_PROBLEMS = {
  statusLine: 'its status line is malformed',
  interimInHttp10: 'it sent an interim (1xx) answer in HTTP/1.0',
  notCrlf: 'a line of its head does not end in CRLF',
  fieldLine: 'a header field line is malformed',
  obsFold: 'a header field line is folded (obs-fold)',
  bothLengthAndChunked: 'it declares both Content-Length and Transfer-Encoding',
  lengthNotANumber: 'its Content-Length is not a number',
  lengthRepeated: 'it declares Content-Length more than once',
  lengthTooLarge: 'its Content-Length is larger than 2^53 - 1',
  notChunked: 'its Transfer-Encoding is not exactly chunked (the gateway cannot carry other transfer codings)',
  chunkFraming: 'its chunk framing is malformed',
  chunkSizeLineTooLong: 'a chunk-size line is longer than 4096 bytes',
  trailerFieldLine: 'a trailer field line is malformed',
  bytesAfterAnswer: 'it sent bytes after its answer',
  bytesUnasked: 'it sent bytes when no answer was expected',
  closedBeforeAnswer: 'the connection closed before any answer came',
  closedEarly: 'the connection closed before the answer was complete',
} as const;

/** The problem of a head (status line and fields, or one interim head) over `limit` bytes. */
export function headTooLarge(limit: number): string {
  return `its head is larger than ${limit} bytes`;
}

/** The problem of a chunked body's trailer section over `limit` bytes. */
export function trailersTooLarge(limit: number): string {
  return `its trailer section is larger than ${limit} bytes`;
}
