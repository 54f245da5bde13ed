import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import { errors as undiciErrors, Response as UndiciResponse } from 'undici';
import type { Http2SessionTransport } from '../transport/index.js';
import type { LegacyHandler } from './legacy-handler.js';
import { Http2StreamError } from './errors.js';
import { forEachHeader, type DispatchHeaders } from './request-headers.js';
import { markFailure } from './retry-policy.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** What one request over HTTP/2 needs from the dispatch options. */
export interface H2RequestOptions {
  readonly method: string;
  readonly path: string;
  readonly headers?: DispatchHeaders;
  readonly query?: Record<string, unknown> | null;
  readonly body?: unknown;
  readonly headersTimeout?: number | null;
  readonly bodyTimeout?: number | null;
}

/** Timeouts when the request sets none (ms; 0: none). */
export interface H2Timeouts {
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
}

/**
 * Headers that describe an HTTP/1.1 connection and have no meaning in HTTP/2 (RFC 9113
 * 8.2.2); Node refuses to send them. `host` becomes `:authority`.
 */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);
/** Errors of `session.request()` that say the session, not the request, cannot take a stream. */
const SESSION_REFUSALS: ReadonlySet<string> = new Set([
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_OUT_OF_STREAMS',
  'ERR_HTTP2_SESSION_ERROR',
]);
/** Methods whose requests carry a payload, so that an empty body still has a content-length. */
const PAYLOAD_METHODS: ReadonlySet<string> = new Set(['PUT', 'POST', 'PATCH', 'QUERY']);

/**
 * Sends one request as a stream of `transport`'s HTTP/2 session and reports it to `handler`
 * with undici's handler calls: `onConnect(abort)` first, then `onResponseStarted`,
 * `onHeaders`, `onData`, and `onComplete` or `onError`, exactly one of the two. (Informational
 * 1xx responses are not reported, as in undici's own HTTP/2 client.)
 *
 * - Backpressure both ways: a handler that returns false pauses the stream until `resume`;
 *   a body stream is read only as fast as the peer's flow control takes it.
 * - Timeouts as undici's: `headersTimeout` until the response headers, then `bodyTimeout`
 *   between body chunks (both idle times of the stream; 0 turns one off).
 * - A stream the peer refused (REFUSED_STREAM), or above the last id of its GOAWAY, or one
 *   the session could not open, is marked unprocessed for the retry policy.
 */
export function sendOverHttp2(transport: Http2SessionTransport, options: H2RequestOptions, handler: LegacyHandler, timeouts: H2Timeouts): void {
  let stream: http2.ClientHttp2Stream | null = null;
  let settled = false;
  let responded = false;
  let trailers: Buffer[] = [];
  let body: unknown = options.body;

  const fail = (error: Error): void => {
    if (settled) return;
    settled = true;
    if (stream !== null) {
      stream.removeAllListeners('data');
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
    }
    destroyBody(body, error);
    handler.onError?.(error);
  };

  // A stream given up on before its response was complete may be the first sign of a session
  // gone silent: have the session PING its peer now, rather than at its next regular PING.
  const doubtSession = (): void => {
    if (stream !== null && !settled) transport.checkLiveness();
  };

  // The caller's abort: undici passes it the reason, or nothing (RequestAbortedError).
  const abort = (reason?: Error): void => {
    doubtSession();
    fail(reason ?? new undiciErrors.RequestAbortedError());
  };

  try {
    handler.onConnect?.(abort);
  } catch (error) {
    fail(toError(error));
  }
  if (settled) return;

  let headers: http2.OutgoingHttpHeaders;
  let contentLength: number | null;
  try {
    const built = buildHeaders(transport, options);
    headers = built.headers;
    if (isFormData(body)) {
      // FormData becomes a multipart stream with its boundary, as fetch makes it; by the
      // Response of the same undici as the FormData (Node's own, or the undici package's).
      const Maker = typeof globalThis.FormData === 'function' && body instanceof globalThis.FormData ? globalThis.Response : UndiciResponse;
      const response = new Maker(body as ConstructorParameters<typeof UndiciResponse>[0]);
      headers['content-type'] = response.headers.get('content-type') ?? 'multipart/form-data';
      body = response.body;
    }
    contentLength = knownLength(body);
    if (contentLength === null && built.contentLength !== null) contentLength = built.contentLength;
    if (contentLength !== null && (contentLength > 0 || PAYLOAD_METHODS.has(options.method))) {
      headers['content-length'] = String(contentLength);
    }
  } catch (error) {
    fail(toError(error));
    return;
  }

  const empty = body === null || body === undefined || contentLength === 0;
  try {
    stream = transport.request(headers, { endStream: empty });
  } catch (error) {
    const failure = toError(error);
    // Never sent, because of the session (GOAWAY received, closing, out of stream ids): it
    // goes again elsewhere. Any other refusal (a header Node will not send) is the request's.
    if (SESSION_REFUSALS.has(String((failure as { code?: unknown }).code))) {
      markFailure(failure, { reason: transport.goawayLastStreamId !== null ? 'goaway' : 'connection-closed', unprocessed: true });
    }
    fail(failure);
    return;
  }
  const opened = stream;

  const headersTimeout = options.headersTimeout ?? timeouts.headersTimeout;
  const bodyTimeout = options.bodyTimeout ?? timeouts.bodyTimeout;
  if (headersTimeout > 0) opened.setTimeout(headersTimeout);

  opened.once('response', (response: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) => {
    if (settled) return;
    responded = true;
    opened.setTimeout(bodyTimeout > 0 ? bodyTimeout : 0);
    // A handler that throws aborts its own request, as in undici.
    try {
      handler.onResponseStarted?.();
      if (!settled && handler.onHeaders?.(Number(response[':status']), rawHeaders(response), () => opened.resume(), '') === false) opened.pause();
    } catch (error) {
      fail(toError(error));
      return;
    }
    if (settled) return;
    opened.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        if (handler.onData?.(chunk) === false) opened.pause();
      } catch (error) {
        fail(toError(error));
      }
    });
  });

  opened.once('trailers', (received: http2.IncomingHttpHeaders) => {
    trailers = rawHeaders(received);
  });

  opened.once('end', () => {
    if (settled) return;
    // A stream cut short (the session destroyed, RST_STREAM) also ends its readable side.
    const reset = opened.rstCode !== undefined && opened.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
    if (responded && reset) {
      fail(new Http2StreamError('was reset before the response was complete', opened.rstCode));
      return;
    }
    if (!responded) {
      fail(markFailure(new Http2StreamError('ended before a response arrived', opened.rstCode), failureOf(transport, opened, 'connection-closed')));
      return;
    }
    settled = true;
    // The peer answered before reading the whole body: stop sending it (RFC 9113 8.1).
    if (!opened.writableFinished) opened.close(http2.constants.NGHTTP2_NO_ERROR);
    handler.onComplete?.(trailers);
  });

  opened.on('error', (error: Error) => {
    if (settled) return;
    fail(responded ? error : markFailure(error, failureOf(transport, opened, 'connection-closed')));
  });

  opened.once('close', () => {
    if (settled) return;
    const error = new Http2StreamError('closed before the response was complete', opened.rstCode);
    fail(responded ? error : markFailure(error, failureOf(transport, opened, 'connection-closed')));
  });

  opened.on('timeout', () => {
    if (settled) return;
    doubtSession();
    fail(
      responded
        ? new undiciErrors.BodyTimeoutError(`HTTP/2: no response data for ${bodyTimeout} ms (bodyTimeout)`)
        : new undiciErrors.HeadersTimeoutError(`HTTP/2: no response headers within ${headersTimeout} ms (headersTimeout)`),
    );
  });

  if (!empty) {
    writeBody(opened, body, handler).then(
      () => {
        if (!settled) handler.onRequestSent?.();
      },
      (error: unknown) => fail(toError(error)),
    );
  } else {
    try {
      handler.onRequestSent?.();
    } catch (error) {
      fail(toError(error));
    }
  }
}

/** What a stream that failed before its response says about sending the request again. */
function failureOf(
  transport: Http2SessionTransport,
  stream: http2.ClientHttp2Stream,
  otherwise: 'connection-closed',
): { reason: 'stream-refused' | 'goaway' | 'connection-closed'; unprocessed: boolean } {
  if (stream.rstCode === NGHTTP2_REFUSED_STREAM) return { reason: 'stream-refused', unprocessed: true };
  const last = transport.goawayLastStreamId;
  // No id: the stream was never submitted, so no frame of it left. (Node 24 reports a
  // session that can no longer open streams this way, as the stream's error, where Node 20
  // threw from session.request().)
  if (stream.id === undefined) return { reason: last !== null ? 'goaway' : otherwise, unprocessed: true };
  if (last !== null && stream.id > last) return { reason: 'goaway', unprocessed: true };
  return { reason: otherwise, unprocessed: false };
}

function buildHeaders(transport: Http2SessionTransport, options: H2RequestOptions): { headers: http2.OutgoingHttpHeaders; contentLength: number | null } {
  const { host, port } = transport.address;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const headers: http2.OutgoingHttpHeaders = {
    ':method': options.method,
    ':scheme': 'https',
    ':authority': port === 443 ? hostPart : `${hostPart}:${port}`,
    ':path': pathOf(options),
  };
  let contentLength: number | null = null;
  forEachHeader(options.headers, (rawName, value) => {
    const name = rawName.toLowerCase();
    const text = Array.isArray(value) ? value.map(String) : String(value);
    if (name === 'host') {
      headers[':authority'] = Array.isArray(text) ? text[0] : text;
      return;
    }
    if (name === 'content-length') {
      contentLength = Number(Array.isArray(text) ? text[0] : text);
      return;
    }
    if (CONNECTION_HEADERS.has(name) || (name === 'te' && text !== 'trailers')) return;
    const known = headers[name];
    if (known === undefined) headers[name] = text;
    else if (name === 'cookie') headers[name] = [...(Array.isArray(known) ? known : [String(known)]), ...(Array.isArray(text) ? text : [text])];
    else headers[name] = `${String(known)}, ${Array.isArray(text) ? text.join(', ') : text}`;
  });
  return { headers, contentLength };
}

function pathOf(options: H2RequestOptions): string {
  let path = options.path;
  if (typeof path !== 'string' || path.length === 0) throw new undiciErrors.InvalidArgumentError('path must be a string');
  if (path.startsWith('http://') || path.startsWith('https://')) {
    const url = new URL(path);
    path = `${url.pathname}${url.search}`;
  } else if (path[0] !== '/') {
    throw new undiciErrors.InvalidArgumentError('path must be an absolute URL or start with a slash');
  }
  const query = options.query;
  if (query !== null && query !== undefined) {
    if (path.includes('?') || path.includes('#')) throw new undiciErrors.InvalidArgumentError('Query params cannot be passed when url already contains "?" or "#".');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
      else if (value !== undefined && value !== null) params.append(key, String(value));
    }
    const text = params.toString();
    if (text) path = `${path}?${text}`;
  }
  return path;
}

function rawHeaders(headers: http2.IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) raw.push(Buffer.from(name, 'latin1'), Buffer.from(item, 'latin1'));
    else raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(value), 'latin1'));
  }
  return raw;
}

function knownLength(body: unknown): number | null {
  if (body === null || body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  if (isBlob(body)) return body.size;
  return null;
}

function isBlob(body: unknown): body is Blob {
  return typeof Blob !== 'undefined' && body instanceof Blob;
}

function isFormData(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'FormData';
}

/** Writes the body, waiting for the stream to drain whenever its buffer is full. */
async function writeBody(stream: http2.ClientHttp2Stream, body: unknown, handler: LegacyHandler): Promise<void> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    stream.end(bytes);
    handler.onBodySent?.(bytes);
    return;
  }
  const source: AsyncIterable<unknown> = isBlob(body)
    ? (body.stream() as unknown as AsyncIterable<unknown>)
    : isAsyncIterable(body) || isIterable(body)
      ? (body as AsyncIterable<unknown>)
      : (() => {
          throw new undiciErrors.InvalidArgumentError('body must be a string, a Buffer, a Uint8Array, a Readable, an (async) iterable, a Blob or FormData');
        })();
  for await (const chunk of source) {
    if (stream.destroyed) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    handler.onBodySent?.(bytes);
    if (!stream.write(bytes)) await drained(stream);
  }
  if (!stream.destroyed) stream.end();
}

function drained(stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function destroyBody(body: unknown, error: Error): void {
  if (body instanceof Readable && !body.destroyed) body.destroy(error);
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

