import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** One request to the upstream, as the proxy hands it over (hop-by-hop headers already gone). */
export interface UpstreamRequest {
  readonly method: string;
  /** The upstream path with its query, relative to the target's base path; starts with `/`. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  /** The request body, streamed as it arrives; null for none. */
  readonly body: Readable | null;
  /** Aborted when the client goes away: the upstream request is then abandoned. */
  readonly signal: AbortSignal;
}

/** The upstream's answer, its body still to be streamed. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  /** As the upstream sent them; the proxy drops the hop-by-hop ones. */
  readonly headers: IncomingHttpHeaders;
  /** Fails with an `UpstreamError` if the upstream stalls or drops the connection mid-body. */
  readonly body: Readable;
  /** How it was fetched, e.g. `'http/1.1'`. */
  readonly protocol: string;
  /** Whether the request went over a pooled connection that had served before. */
  readonly reusedConnection: boolean;
}

/**
 * How the proxy talks to its upstream. The HTTP/1.1 client over the pool's `PooledAgent` is
 * the one there is today ({@link Http1UpstreamClient}); an HTTP/2 client over the pool's
 * sessions can take its place without the proxy changing.
 *
 * Contract: `request()` resolves once the response headers are in, or rejects with an
 * `UpstreamError` (unreachable: 502, timed out: 504, no capacity: 503). It never rejects for
 * an HTTP status: a 500 from the upstream is a response like any other.
 */
export interface UpstreamClient {
  /** The protocol it speaks, for logs and the dashboard (`'http/1.1'`, `'h2'`). */
  readonly protocol: string;
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
}
