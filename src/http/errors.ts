import type { RetryReason } from '../pool/index.js';

/** The stable codes of the HTTP layer's own errors. */
export type HttpPoolErrorCode = 'ERR_STALE_CONNECTION' | 'ERR_CONNECTION_GONE' | 'ERR_UNSUPPORTED_TRANSPORT';

/** What each retry reason says happened, for messages. */
const WHAT_HAPPENED: Readonly<Record<RetryReason, string>> = {
  'connection-reset': 'the server reset it',
  'connection-closed': 'the server had closed it',
  'stream-refused': 'the server refused the stream (REFUSED_STREAM)',
  goaway: 'the server sent GOAWAY before processing the request',
};

/**
 * A request failed on a pooled connection that had served earlier requests (so it had sat
 * idle, and the server had closed or reset it meanwhile) before any byte of a response
 * arrived, and it could not be sent again safely: its method is not idempotent and it has
 * no `Idempotency-Key` header, or its body was a stream that has been read already. The
 * server may or may not have processed it.
 *
 * `cause` is the network error; `reason` says what happened (as in the pool's `retry` events).
 */
export class StaleConnectionError extends Error {
  /** Always `ERR_STALE_CONNECTION`. */
  readonly code = 'ERR_STALE_CONNECTION' as const;
  readonly reason: RetryReason;
  /** The request's method. */
  readonly method: string;

  /**
   * @param target - the origin and path, without query or credentials (nothing secret).
   * @param why - why it was not sent again, e.g. "POST is not idempotent".
   */
  constructor(method: string, target: string, reason: RetryReason, why: string, cause: unknown) {
    super(
      `${method} ${target} failed on a reused pooled connection: ${WHAT_HAPPENED[reason]} before any response arrived. ` +
        `It was not sent again because ${why}, so the server may or may not have processed it. ` +
        'Send it again yourself if that is safe, or give it an Idempotency-Key header (and a string or Buffer body) so that the dispatcher may.',
      { cause },
    );
    this.name = 'StaleConnectionError';
    this.reason = reason;
    this.method = method;
  }
}

/**
 * The pooled connection a request was given closed before the request could be written (the
 * server closed it while it was idle). The request was not sent. The dispatcher sends such
 * requests again on a new connection by itself; this reaches the caller only when the
 * request's body could not be sent again.
 */
export class ConnectionGoneError extends Error {
  /** Always `ERR_CONNECTION_GONE`. */
  readonly code = 'ERR_CONNECTION_GONE' as const;

  constructor(target: string) {
    super(`The pooled connection to ${target} closed before the request could be sent; the request was not sent. Send it again.`);
    this.name = 'ConnectionGoneError';
  }
}

/**
 * A client of the pool got a connection it cannot speak over: the PooledAgent (HTTP/1.1) an
 * HTTP/2 session, or the dispatcher a transport of a custom connector that is neither a
 * socket nor an HTTP/2 session.
 */
export class UnsupportedTransportError extends Error {
  /** Always `ERR_UNSUPPORTED_TRANSPORT`. */
  readonly code = 'ERR_UNSUPPORTED_TRANSPORT' as const;

  constructor(client: string, target: string, detail: string) {
    super(`${client} cannot use the connection the pool gave it for ${target}: ${detail}`);
    this.name = 'UnsupportedTransportError';
  }
}
