import type { RetryReason } from '../pool/index.js';
import { hasHeader, type DispatchHeaders } from './request-headers.js';

/**
 * What a failure before any response byte says about the request:
 * - `unprocessed`: it certainly did not reach the server's application (the connection was
 *   gone before it was written, the HTTP/2 peer refused the stream or sent GOAWAY below its
 *   id). Any method may be sent again (RFC 9113 8.7).
 * - otherwise the connection was reset or closed after the request was written: the server
 *   may have processed it. Only an idempotent request may be sent again.
 */
export interface FailureVerdict {
  readonly reason: RetryReason;
  readonly unprocessed: boolean;
}

/** Verdicts given by whoever saw the failure happen (the HTTP/2 driver knows the stream's fate). */
const verdicts = new WeakMap<Error, FailureVerdict>();

/** Records what a failure means, for {@link classifyFailure}. Returns the error. */
export function markFailure(error: Error, verdict: FailureVerdict): Error {
  verdicts.set(error, verdict);
  return error;
}

/** Error codes that mean the connection was reset or closed under the request. */
const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const CLOSED_CODES: ReadonlySet<string> = new Set([
  // undici: "other side closed", "closed"
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_INVALID_SESSION',
]);

/**
 * What a request's failure says about sending it again (see {@link FailureVerdict}), or null
 * for a failure that is not the connection's (a timeout, a bad response, the caller's abort).
 */
export function classifyFailure(error: unknown): FailureVerdict | null {
  if (!(error instanceof Error)) return null;
  const known = verdicts.get(error);
  if (known !== undefined) return known;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  // The pooled socket closed before undici wrote the request: undici's Client (bound to that
  // socket) asked for it again, or was destroyed with it while the request waited its turn.
  if (code === 'ERR_CONNECTION_GONE' || code === 'UND_ERR_DESTROYED') return { reason: 'connection-closed', unprocessed: true };
  if (code === 'ERR_HTTP2_GOAWAY_SESSION') return { reason: 'goaway', unprocessed: true };
  if (RESET_CODES.has(code)) return { reason: 'connection-reset', unprocessed: false };
  if (CLOSED_CODES.has(code)) return { reason: 'connection-closed', unprocessed: false };
  return null;
}

/** Methods RFC 9110 (9.2.2) defines as idempotent. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Whether sending the request twice has the effect of sending it once: an idempotent method, or an `Idempotency-Key` header. */
export function isIdempotent(method: string, headers: DispatchHeaders): boolean {
  return IDEMPOTENT_METHODS.has(method) || hasHeader(headers, 'idempotency-key');
}

/**
 * Whether the body can be sent again as it was: none, a string or bytes. A stream, an async
 * iterable (what `fetch` sends for any body), a Blob or FormData is read as it is sent.
 */
export function isReplayableBody(body: unknown): boolean {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/** What to do with a request that failed before any response byte. */
export type RetryDecision =
  /** Send it again on a new connection. */
  | { readonly retry: true; readonly reason: RetryReason }
  /** Fail with the error as it is (not the connection's doing, or a new connection failing). */
  | { readonly retry: false; readonly stale: null }
  /** Fail with a StaleConnectionError: the reused connection failed and the request is not safe to send again. */
  | { readonly retry: false; readonly stale: { readonly reason: RetryReason; readonly why: string } };

/** What the policy needs to know of one failed attempt. */
export interface FailedAttempt {
  readonly error: unknown;
  readonly method: string;
  readonly headers: DispatchHeaders;
  readonly body: unknown;
  /** Whether the connection had served an earlier request. */
  readonly reused: boolean;
}

const NO_RETRY: RetryDecision = { retry: false, stale: null };

/**
 * The retry policy, for a request that failed before any byte of its response arrived and has
 * not been retried yet: a failure that left the request unprocessed is sent again whatever
 * the method; a reset or close of a reused connection only for an idempotent request (or one
 * with an `Idempotency-Key`); and only when the body can be sent again.
 */
export function decideRetry(attempt: FailedAttempt): RetryDecision {
  const verdict = classifyFailure(attempt.error);
  if (verdict === null) return NO_RETRY;
  if (!verdict.unprocessed && !attempt.reused) return NO_RETRY;
  if (!isReplayableBody(attempt.body)) {
    return attempt.reused
      ? { retry: false, stale: { reason: verdict.reason, why: 'its body is a stream, which has been read and cannot be sent again' } }
      : NO_RETRY;
  }
  if (verdict.unprocessed || isIdempotent(attempt.method, attempt.headers)) return { retry: true, reason: verdict.reason };
  return {
    retry: false,
    stale: { reason: verdict.reason, why: `${attempt.method} is not idempotent and the request has no Idempotency-Key header` },
  };
}
