import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ClientAbort } from './client-abort.js';

/**
 * How the body of a forwarded request is delimited on the way upstream, as the gateway
 * decided it (see `requestFramingOf`): never the client's headers as they are.
 */
export type BodyFraming =
  /** No body: nothing is written after the head. */
  | { readonly kind: 'none' }
  /** A body of exactly `length` bytes (`Content-Length`). */
  | { readonly kind: 'length'; readonly length: number }
  /** A body of unknown length: chunked on HTTP/1.1, DATA frames on h2. */
  | { readonly kind: 'chunked' };

/**
 * One request to the upstream, as the proxy hands it over: hop-by-hop headers gone, and the
 * framing decided (`headers` state it: `Content-Length` or `Transfer-Encoding: chunked`).
 */
export interface UpstreamRequest {
  readonly method: string;
  /** The upstream path with its query, relative to the target's base path; starts with `/`. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  /** How `body` is delimited; a client states it in its protocol's way, never otherwise. */
  readonly framing: BodyFraming;
  /** The request body, streamed as it arrives; null when `framing` is `none`. */
  readonly body: Readable | null;
  /** Aborted when the client goes away: the upstream request is then abandoned. */
  readonly clientAbort: ClientAbort;
}

/**
 * The body of an upstream's answer: the part of a `Readable` the proxy uses, so that a client
 * may hand over a Node stream (the dispatcher's) or something leaner (the HTTP/1.1 client's
 * `H1ResponseBody`, which writes straight into the response).
 */
export interface UpstreamBody {
  /** True once the body has been read to its end. */
  readonly readableEnded: boolean;
  /** Writes the body into `response` with backpressure, and ends it at the body's end. */
  pipe(response: ServerResponse): unknown;
  /** Abandons the body: its upstream connection is closed (or its stream reset), never reused. */
  destroy(error?: Error): unknown;
  /** `listener` hears of a failure of the body (called with the body as `this`). */
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The upstream's answer, its body still to be streamed. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  /** As the upstream sent them; the proxy drops the hop-by-hop ones. */
  readonly headers: IncomingHttpHeaders;
  /**
   * Fails if the upstream stalls (a 504 `UpstreamError`, `UPSTREAM_TIMEOUT`) or drops the
   * connection mid-body (the HTTP client's error). Its consumer listens for `'error'`, and
   * destroys it if it stops reading before the end (the client left): its upstream
   * connection is then closed, never reused.
   */
  readonly body: UpstreamBody;
  /** How it was fetched, e.g. `'http/1.1'`. */
  readonly protocol: string;
  /** Whether the request went over a pooled connection that had served before. */
  readonly reusedConnection: boolean;
}

/**
 * How the proxy talks to its upstream: HTTP/1.1 over the pool's connections
 * (`Http1UpstreamClient`), or HTTP/2 and HTTP/1.1 over the pool's undici dispatcher
 * (`DispatcherUpstreamClient`); the proxy is the same over either.
 *
 * Contract: `send()` tells its receiver `answered` once the response headers are in, or
 * `failed` with an `UpstreamError` (unreachable or an answer that cannot be forwarded: 502,
 * timed out: 504, no capacity: 503). It never fails for an HTTP status: a 500 from the
 * upstream is a response like any other. What can be forwarded is decided by `upstream-answer.ts`: a client closes
 * the upstream connection of any answer refused there.
 */
export interface UpstreamClient {
  /** The protocol it speaks, for logs and the dashboard (`'http/1.1'`, `'h2'`). */
  readonly protocol: string;
  /** Sends `request`; `receiver` hears how it went, once (possibly before `send` returns). */
  send(request: UpstreamRequest, receiver: UpstreamReceiver): void;
}

/**
 * Who hears how a request to the upstream went: exactly one of its methods is called, once.
 * Callbacks rather than a promise: the proxy's hot path pays no promise and no microtask per
 * request, and the answer's head is written to the client in the same turn as it was read.
 * Neither method may throw: they run inside the client's I/O callbacks.
 */
export interface UpstreamReceiver {
  /** The answer's head came; its body streams from `response.body`. */
  answered(response: UpstreamResponse): void;
  /** No answer: an `UpstreamError` (unreachable or unforwardable: 502, timed out: 504, no capacity: 503), or any error once `clientAbort` has aborted. */
  failed(error: unknown): void;
}
