import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { pipeline } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { UPSTREAM_CLIENT, UPSTREAM_TARGET } from '../app.tokens.js';
import { InFlightRequests } from '../lifecycle/in-flight-requests.js';
import { ProxyMetrics, type ProxyOutcome } from '../metrics/proxy.metrics.js';
import { ROUTES } from '../routes.js';
import type { UpstreamClient, UpstreamResponse } from '../upstream/upstream-client.js';
import { toUpstreamError } from '../upstream/upstream.errors.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.js';
import { sendProxyError } from './proxy-error.response.js';
import { upstreamPathOf } from './proxy-path.js';

/** A request as Express hands it over: `originalUrl` is the URL as the client sent it. */
type ProxiedRequest = IncomingMessage & { originalUrl?: string };

/**
 * Forwards `/proxy/*` to the upstream through the {@link UpstreamClient}: request and response
 * bodies stream with backpressure, hop-by-hop headers stay on their hop, `X-Forwarded-*` are
 * added. When the upstream gives no answer the proxy answers in its place with a JSON error:
 * 502 (unreachable), 504 (timed out), 503 (no connection slot free, or shutting down).
 */
@Injectable()
export class ProxyService {
  readonly #logger = new Logger('Proxy');

  constructor(
    @Inject(UPSTREAM_CLIENT) private readonly client: UpstreamClient,
    @Inject(UPSTREAM_TARGET) private readonly target: UpstreamTarget,
    private readonly inFlight: InFlightRequests,
    private readonly metrics: ProxyMetrics,
  ) {}

  /** Serves one proxied request; the response is complete (or cut) when the promise settles or later. */
  async forward(request: ProxiedRequest, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = request.method ?? 'GET';
    const path = upstreamPathOf(request.originalUrl ?? request.url ?? '/', ROUTES.proxy);
    // Logs get the path without its query: queries often carry keys and tokens.
    const shown = (path ?? request.url ?? '/').split('?', 1)[0];
    let outcome: ProxyOutcome | undefined;
    let upstream: UpstreamResponse | undefined;
    const end = this.inFlight.begin();
    const aborted = new AbortController();
    response.once('close', () => {
      end();
      // A response closed before it was all written: the client left (or the upstream did, mid-body).
      if (!response.writableFinished) aborted.abort();
      const final = outcome ?? (response.writableFinished ? 'ok' : 'aborted');
      const ms = performance.now() - started;
      this.metrics.observe(method, response.statusCode, final, ms / 1_000);
      this.#logger.debug(
        `${method} ${shown} -> ${response.statusCode} ${final} in ${ms.toFixed(1)} ms` +
          (upstream === undefined ? '' : ` (${upstream.protocol}, ${upstream.reusedConnection ? 'reused' : 'new'} connection)`),
      );
    });

    if (path === null) {
      outcome = 'rejected';
      sendProxyError(response, 400, 'PATH_NOT_FORWARDED', 'This path is not forwarded: it must be under /proxy/ and have no "." or ".." segment (nor an encoded "/").');
      return;
    }

    try {
      upstream = await this.client.request({
        method,
        path,
        headers: this.#upstreamHeaders(request),
        body: hasBody(request) ? request : null,
        signal: aborted.signal,
      });
    } catch (error) {
      // Nobody is left to answer.
      if (aborted.signal.aborted) return;
      const failure = toUpstreamError(error, this.target.toString());
      outcome = 'upstream_error';
      this.#logger.warn(`${method} ${shown} -> ${failure.status} ${failure.code}: ${failure.message}`);
      sendProxyError(response, failure.status, failure.code, failure.message, this.target.toString());
      return;
    }

    const headers = clientResponseHeaders(upstream.headers);
    // No reason phrase (HTTP/2 has none): Node's standard one, rather than an empty one.
    if (upstream.statusMessage) response.writeHead(upstream.statusCode, upstream.statusMessage, headers);
    else response.writeHead(upstream.statusCode, headers);
    pipeline(upstream.body, response, (error) => {
      if (error) {
        outcome = 'aborted';
        this.#logger.debug(`${method} ${shown}: the response was cut: ${error.message}`);
      }
    });
  }

  #upstreamHeaders(request: IncomingMessage): ReturnType<typeof upstreamRequestHeaders> {
    const headers = upstreamRequestHeaders(request.headers, {
      remoteAddress: request.socket.remoteAddress,
      protocol: (request.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http',
    });
    // A body of unknown length goes on chunked: Node would not chunk it by itself for every method.
    if (hasBody(request) && request.headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
    return headers;
  }
}

/** Whether a request has a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
function hasBody(request: IncomingMessage): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return true;
  const length = request.headers['content-length'];
  return length !== undefined && length !== '0';
}
