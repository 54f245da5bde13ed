import * as http2 from 'node:http2';
import { errors as undiciErrors } from 'undici';
import type { Http2SessionTransport } from '../transport/index.js';
import { destroyH2Body, h2BodyOf, writeH2Body, type H2Body } from './h2-body.js';
import { buildH2Headers, h2Trailers, rawH2Headers, type H2HeaderInput } from './h2-headers.js';
import type { LegacyHandler } from './legacy-handler.js';
import { markFailure } from './retry-policy.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR } = http2.constants;

/** What one request over HTTP/2 needs from the dispatch (see `prepareDispatch`). */
export interface H2RequestOptions extends H2HeaderInput {
  readonly body?: unknown;
  readonly headersTimeout?: number | null;
  readonly bodyTimeout?: number | null;
  /** Send `expect: 100-continue` and the body only once the server says `100 Continue` (as undici). */
  readonly expectContinue?: boolean | null;
}

/** Timeouts when the request sets none (ms; 0: none). */
export interface H2Timeouts {
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
}

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
 * 1xx responses are not reported, as in undici's own HTTP/2 client.) It fails as undici's does:
 * a stream the server reset with Node's `ERR_HTTP2_STREAM_ERROR`, one that closed or ended
 * without its response with undici's `InformationalError` (`UND_ERR_INFO`).
 *
 * - Backpressure both ways: a handler that returns false pauses the stream until `resume`;
 *   a body stream is read only as fast as the peer's flow control takes it.
 * - Timeouts as undici's: `headersTimeout` until the response headers, then `bodyTimeout`
 *   between body chunks (both idle times of the stream; 0 turns one off).
 * - `expectContinue`: the body waits for the server's `100 Continue`.
 * - Trailers reach `onComplete` as raw pairs that also carry each trailer by name (see `h2Trailers`).
 * - A stream the peer refused (REFUSED_STREAM), or above the last id of its GOAWAY, or one
 *   the session could not open, is marked unprocessed for the retry policy.
 */
export function sendOverHttp2(transport: Http2SessionTransport, options: H2RequestOptions, handler: LegacyHandler, timeouts: H2Timeouts): void {
  let stream: http2.ClientHttp2Stream | null = null;
  let settled = false;
  let body: unknown = options.body;

  const fail = (error: Error): void => {
    if (settled) return;
    settled = true;
    if (stream !== null) {
      stream.removeAllListeners('data');
      // Node's close() ends the writable side first (END_STREAM) and resets after: a request
      // whose body was not all sent would reach the server as complete, cut short. Destroyed,
      // the stream is only reset (RST_STREAM INTERNAL_ERROR): the server never takes it as whole.
      if (!stream.destroyed) {
        if (stream.writableEnded) stream.close(NGHTTP2_CANCEL);
        else stream.destroy(error);
      }
    }
    destroyH2Body(body, error);
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

  let prepared: H2Body | Promise<H2Body>;
  try {
    prepared = h2BodyOf(body);
  } catch (error) {
    fail(toError(error));
    return;
  }
  const open = (ready: H2Body): void => {
    if (settled) return;
    body = ready.body;
    stream = openStream(transport, options, ready, handler, timeouts, fail, doubtSession, () => settled, () => (settled = true));
  };
  if (prepared instanceof Promise) prepared.then(open, (error: unknown) => fail(toError(error)));
  else open(prepared);
}

/**
 * Opens the stream and wires it to the handler; returns it, or null when it could not be
 * opened (then `fail` was called).
 */
function openStream(
  transport: Http2SessionTransport,
  options: H2RequestOptions,
  ready: H2Body,
  handler: LegacyHandler,
  timeouts: H2Timeouts,
  fail: (error: Error) => void,
  doubtSession: () => void,
  isSettled: () => boolean,
  settle: () => void,
): http2.ClientHttp2Stream | null {
  let headers: http2.OutgoingHttpHeaders;
  let contentLength = ready.contentLength;
  try {
    const built = buildH2Headers(transport, options);
    headers = built.headers;
    if (ready.contentType !== null) headers['content-type'] = ready.contentType;
    if (contentLength === null && built.contentLength !== null) contentLength = built.contentLength;
    if (contentLength !== null && (contentLength > 0 || PAYLOAD_METHODS.has(options.method))) headers['content-length'] = String(contentLength);
  } catch (error) {
    fail(toError(error));
    return null;
  }
  const body = ready.body;
  const empty = body === null || body === undefined || contentLength === 0;
  const waitForContinue = options.expectContinue === true && !empty;
  if (waitForContinue) headers.expect = '100-continue';
  let opened: http2.ClientHttp2Stream;
  try {
    opened = transport.request(headers, { endStream: empty });
  } catch (error) {
    const failure = toError(error);
    // Never sent, because of the session (GOAWAY received, closing, out of stream ids): it
    // goes again elsewhere. Any other refusal (a header Node will not send) is the request's.
    if (SESSION_REFUSALS.has(String((failure as { code?: unknown }).code))) {
      markFailure(failure, { reason: transport.goawayLastStreamId !== null ? 'goaway' : 'connection-closed', unprocessed: true });
    }
    fail(failure);
    return null;
  }

  let responded = false;
  let trailers: http2.IncomingHttpHeaders | null = null;
  const headersTimeout = options.headersTimeout ?? timeouts.headersTimeout;
  const bodyTimeout = options.bodyTimeout ?? timeouts.bodyTimeout;
  if (headersTimeout > 0) opened.setTimeout(headersTimeout);

  opened.once('response', (response: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) => {
    if (isSettled()) return;
    responded = true;
    opened.setTimeout(bodyTimeout > 0 ? bodyTimeout : 0);
    // A handler that throws aborts its own request, as in undici.
    try {
      handler.onResponseStarted?.();
      if (!isSettled() && handler.onHeaders?.(Number(response[':status']), rawH2Headers(response), () => opened.resume(), '') === false) opened.pause();
    } catch (error) {
      fail(toError(error));
      return;
    }
    if (isSettled()) return;
    opened.on('data', (chunk: Buffer) => {
      if (isSettled()) return;
      try {
        if (handler.onData?.(chunk) === false) opened.pause();
      } catch (error) {
        fail(toError(error));
      }
    });
  });

  opened.once('trailers', (received: http2.IncomingHttpHeaders) => {
    trailers = received;
  });

  opened.once('end', () => {
    if (isSettled()) return;
    // A stream cut short (the session destroyed, RST_STREAM) also ends its readable side.
    const reset = opened.rstCode !== undefined && opened.rstCode !== NGHTTP2_NO_ERROR;
    if (responded && reset) {
      fail(new undiciErrors.InformationalError('HTTP/2: stream closed before the response was complete'));
      return;
    }
    if (!responded) {
      fail(markFailure(new undiciErrors.InformationalError('HTTP/2: stream half-closed (remote)'), failureOf(transport, opened, 'connection-closed')));
      return;
    }
    settle();
    // The peer answered before reading the whole body: stop sending it (RFC 9113 8.1).
    if (!opened.writableFinished) opened.close(NGHTTP2_NO_ERROR);
    handler.onComplete?.(h2Trailers(trailers));
  });

  opened.on('error', (error: Error) => {
    if (isSettled()) return;
    fail(responded ? error : markFailure(error, failureOf(transport, opened, 'connection-closed')));
  });

  opened.once('close', () => {
    if (isSettled()) return;
    const error = new undiciErrors.InformationalError('HTTP/2: stream closed before the response was complete');
    fail(responded ? error : markFailure(error, failureOf(transport, opened, 'connection-closed')));
  });

  opened.on('timeout', () => {
    if (isSettled()) return;
    doubtSession();
    fail(
      responded
        ? new undiciErrors.BodyTimeoutError(`HTTP/2: no response data for ${bodyTimeout} ms (bodyTimeout)`)
        : new undiciErrors.HeadersTimeoutError(`HTTP/2: no response headers within ${headersTimeout} ms (headersTimeout)`),
    );
  });

  if (empty) {
    try {
      handler.onRequestSent?.();
    } catch (error) {
      fail(toError(error));
    }
    return opened;
  }
  const send = (): void => {
    writeH2Body(opened, body, handler).then(
      () => {
        if (!isSettled()) handler.onRequestSent?.();
      },
      (error: unknown) => fail(toError(error)),
    );
  };
  if (waitForContinue) opened.once('continue', send);
  else send();
  return opened;
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

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
