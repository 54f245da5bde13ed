import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, UPSTREAM_CLIENT, UPSTREAM_TARGET } from '../app.tokens.js';
import type { AppConfig } from '../config/app-config.js';
import { AppLifecycle } from '../lifecycle/app-lifecycle.js';
import { InFlightRequests } from '../lifecycle/in-flight-requests.js';
import { ProxyMetrics, type ProxyOutcome } from '../metrics/proxy.metrics.js';
import { ROUTES } from '../routes.js';
import { ClientAbort } from '../upstream/client-abort.js';
import type { UpstreamBody as AnyUpstreamBody, UpstreamClient, UpstreamResponse } from '../upstream/upstream-client.js';
import { upstreamProtocolError } from '../upstream/upstream-answer.js';
import { toUpstreamError } from '../upstream/upstream.errors.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.js';
import { refuseRequest, sendProxyError } from './proxy-error.response.js';
import { PATH_POLICY, upstreamPathOf } from './proxy-path.js';
import { isFramingRefusal, requestFramingOf } from './request-framing.js';

/** A request as Node's HTTP server hands it over (`url` as the client sent it), or as Express does (`originalUrl`). */
type ProxiedRequest = IncomingMessage & { originalUrl?: string };

/**
 * Forwards `/proxy/*` to the upstream through the {@link UpstreamClient}. It is served straight
 * from the HTTP server's front door (`frontDoor()`, through {@link ProxyService.handle}), not
 * through Express's router and Nest's pipeline: the proxy is the service's hot path, and it
 * works on Node's request and response as they are. Request and response
 * bodies stream with backpressure, hop-by-hop headers stay on their hop, the framing is the
 * gateway's own (`requestFramingOf`), `Forwarded` / `X-Forwarded-*` are set as `TRUST_PROXY`
 * says. When the upstream gives no answer that can be forwarded the proxy answers in its place
 * with a JSON error: 502 (unreachable, or an answer that cannot be forwarded), 504 (timed
 * out), 503 (no connection slot free, or shutting down). Nothing it answers carries a stack
 * trace or an internal message.
 */
@Injectable()
export class ProxyService {
  /** @internal */
  readonly logger = new Logger('Proxy');

  constructor(
    @Inject(UPSTREAM_CLIENT) private readonly client: UpstreamClient,
    @Inject(UPSTREAM_TARGET) private readonly target: UpstreamTarget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly inFlight: InFlightRequests,
    private readonly metrics: ProxyMetrics,
    private readonly lifecycle: AppLifecycle,
  ) {}

  /** The request listener of `/proxy/*` (the front door calls it): {@link forward}. */
  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    void this.forward(request, response);
  };

  /**
   * Serves one proxied request; the response is complete (or cut) when the promise settles or
   * later. Never rejects: should it ever fail, the client gets a 500 JSON answer that says
   * nothing of why (the log does), as the service's last error handler answers for the other routes.
   */
  async forward(request: ProxiedRequest, response: ServerResponse): Promise<void> {
    try {
      await this.#forward(request, response);
    } catch (error) {
      this.logger.error(`${request.method ?? 'GET'} /proxy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (response.headersSent) response.destroy();
      else sendProxyError(response, 500, 'INTERNAL_ERROR', 'The service failed to answer this request.');
    }
  }

  async #forward(request: ProxiedRequest, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = request.method ?? 'GET';
    const url = request.originalUrl ?? request.url ?? '/';
    const path = upstreamPathOf(url, ROUTES.proxy);
    // The client may be gone already (between Node's parser and this handler): its response
    // has closed, will not close again, and there is nobody to forward for.
    if (response.destroyed) {
      this.metrics.observe(method, response.statusCode, 'aborted', (performance.now() - started) / 1_000);
      return;
    }
    const exchange = new ProxyExchange(this, response, url, method, path, started);
    this.inFlight.enter();
    this.#closeIfDraining(response);
    (response as ExchangeResponse)[EXCHANGE] = exchange;
    // 'close' comes once: on(), without once()'s wrapper; the listener is shared.
    response.on('close', onClientResponseClose);

    // The front door refuses these before routing; checked again here, where it matters most.
    const framing = requestFramingOf(request);
    if (isFramingRefusal(framing)) {
      exchange.outcome = 'rejected';
      refuseRequest(request, response, framing.status, framing.code, framing.message);
      return;
    }
    if (path === null) {
      exchange.outcome = 'rejected';
      sendProxyError(response, 400, 'PATH_NOT_FORWARDED', PATH_POLICY);
      return;
    }

    let upstream: UpstreamResponse;
    try {
      upstream = await this.client.request({
        method,
        path,
        headers: upstreamRequestHeaders(request.headers, framing, clientSideOf(request), this.config.trustProxy),
        framing,
        // An empty body is no body: nothing to stream (and the request stays retryable).
        body: framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0) ? null : request,
        clientAbort: exchange.clientAbort,
      });
    } catch (error) {
      // Nobody is left to answer.
      if (exchange.clientAbort.aborted) return;
      this.#closeIfDraining(response);
      const failure = toUpstreamError(error, this.target.toString());
      exchange.outcome = 'upstream_error';
      this.logger.warn(`${method} ${exchange.shown()} -> ${failure.status} ${failure.code}: ${failure.message}`);
      sendProxyError(response, failure.status, failure.code, failure.message, { upstream: this.target.toString() });
      return;
    }
    exchange.upstream = upstream;
    // The client left while the upstream answered: the body goes with its connection.
    if (response.destroyed) {
      if (!upstream.body.readableEnded) upstream.body.destroy();
      return;
    }

    const body = upstream.body as UpstreamBody;
    body[EXCHANGE] = exchange;
    // The upstream stalled or dropped mid-body (or the body was destroyed because the client
    // left): the response is cut, so that the client cannot take a part for the whole.
    body.on('error', onUpstreamBodyError);
    // The body the client gets is exactly as long as the Content-Length it is told: more or
    // fewer bytes fail the response (cut) rather than spill into the connection's next answer.
    response.strictContentLength = true;
    // A drain may have begun while the upstream answered.
    this.#closeIfDraining(response);
    try {
      const headers = clientResponseHeaders(upstream.headers);
      // No reason phrase (HTTP/2 has none): Node's standard one, rather than an empty one.
      if (upstream.statusMessage) response.writeHead(upstream.statusCode, upstream.statusMessage, headers);
      else response.writeHead(upstream.statusCode, headers);
    } catch (error) {
      // Header fields this side cannot write (Node validates them): not forwarded, and the
      // upstream connection goes with its unread body (whose failure for it is expected).
      exchange.forwarding = false;
      body.destroy();
      // What writeHead() took before it threw must not go out with the error.
      for (const name of response.getHeaderNames()) if (name !== 'connection') response.removeHeader(name);
      const failure = upstreamProtocolError(this.target.toString(), 'its header fields cannot be written to the client', { cause: error });
      exchange.outcome = 'upstream_error';
      this.logger.warn(`${method} ${exchange.shown()} -> 502 ${failure.code}: ${failure.message} (${(error as { code?: string }).code ?? 'error'})`);
      sendProxyError(response, 502, failure.code, failure.message, { upstream: this.target.toString() });
      return;
    }
    // pipe(), not pipeline(): the response's 'close' and the body's 'error' above do what
    // pipeline() would, without the AbortController and the listeners it makes per call.
    body.pipe(response);
  }

  /** @internal The client's response closed: the request is over, counted, and logged. */
  responseClosed(exchange: ProxyExchange, response: ServerResponse): void {
    this.inFlight.leave();
    const upstream = exchange.upstream;
    // A response closed before it was all written: the client left (or the upstream did,
    // mid-body). The upstream request is abandoned, and its connection with it.
    if (!response.writableFinished) {
      exchange.clientAbort.abort();
      if (upstream !== undefined && !upstream.body.readableEnded) upstream.body.destroy();
    }
    const outcome = exchange.outcome ?? (response.writableFinished ? 'ok' : 'aborted');
    const ms = performance.now() - exchange.started;
    this.metrics.observe(exchange.method, response.statusCode, outcome, ms / 1_000);
    // The line is only built when it is shown: this runs for every request.
    if (Logger.isLevelEnabled('debug')) {
      this.logger.debug(
        `${exchange.method} ${exchange.shown()} -> ${response.statusCode} ${outcome} in ${ms.toFixed(1)} ms` +
          (upstream === undefined ? '' : ` (${upstream.protocol}, ${upstream.reusedConnection ? 'reused' : 'new'} connection)`),
      );
    }
  }

  /** While draining, keep-alive clients are told to reconnect (to an instance that is not stopping). */
  #closeIfDraining(response: ServerResponse): void {
    if (this.lifecycle.draining && !response.headersSent) response.setHeader('Connection', 'close');
  }
}

/** Where the shared listeners of a proxied request find its {@link ProxyExchange}. */
const EXCHANGE = Symbol('proxyExchange');

type ExchangeResponse = ServerResponse & { [EXCHANGE]?: ProxyExchange };
type UpstreamBody = AnyUpstreamBody & { [EXCHANGE]?: ProxyExchange };

/**
 * What the proxy keeps of one request while it is served: one object, found by the shared
 * listeners of its response and upstream body, rather than closures per request.
 */
class ProxyExchange {
  readonly clientAbort = new ClientAbort();
  outcome: ProxyOutcome | undefined = undefined;
  upstream: UpstreamResponse | undefined = undefined;
  /** False once the upstream's answer is known not to be forwarded: its body's failure is expected. */
  forwarding = true;

  constructor(
    readonly service: ProxyService,
    readonly response: ServerResponse,
    readonly url: string,
    readonly method: string,
    readonly path: string | null,
    readonly started: number,
  ) {}

  /** The path as logs show it: without its query (queries often carry keys and tokens). */
  shown(): string {
    return (this.path ?? this.url).split('?', 1)[0] as string;
  }
}

function onClientResponseClose(this: ExchangeResponse): void {
  const exchange = this[EXCHANGE];
  if (exchange !== undefined) exchange.service.responseClosed(exchange, this);
}

function onUpstreamBodyError(this: UpstreamBody, error: Error): void {
  const exchange = this[EXCHANGE];
  if (exchange === undefined || !exchange.forwarding) return;
  exchange.outcome = 'aborted';
  if (Logger.isLevelEnabled('debug')) exchange.service.logger.debug(`${exchange.method} ${exchange.shown()}: the response was cut: ${error.message}`);
  exchange.response.destroy();
}

/** The client side of `request`, for `Forwarded` and `X-Forwarded-*`. */
function clientSideOf(request: IncomingMessage): Parameters<typeof upstreamRequestHeaders>[2] {
  const socket = request.socket;
  return {
    remoteAddress: socket.remoteAddress,
    protocol: (socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http',
    localPort: socket.localPort,
  };
}
