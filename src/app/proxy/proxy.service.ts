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
import type { UpstreamBody as AnyUpstreamBody, UpstreamClient, UpstreamReceiver, UpstreamResponse } from '../upstream/upstream-client.js';
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
    this.forward(request, response);
  };

  /**
   * Serves one proxied request: sends it upstream and returns; the answer is written when it
   * comes (`answered`), or the proxy's error when none can be forwarded (`failed`). Nothing is
   * awaited on the way: no promise, no microtask per request. Never throws: should it ever
   * fail, the client gets a 500 JSON answer that says nothing of why (the log does), as the
   * service's last error handler answers for the other routes.
   */
  forward(request: ProxiedRequest, response: ServerResponse): void {
    try {
      this.#forward(request, response);
    } catch (error) {
      this.internalError(request.method ?? 'GET', response, error);
    }
  }

  /** @internal A failure of the proxy itself: logged with its stack, answered with a bare 500. */
  internalError(method: string, response: ServerResponse, error: unknown): void {
    this.logger.error(`${method} /proxy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (response.headersSent) response.destroy();
    else if (!response.destroyed) sendProxyError(response, 500, 'INTERNAL_ERROR', 'The service failed to answer this request.');
  }

  #forward(request: ProxiedRequest, response: ServerResponse): void {
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

    this.client.send(
      {
        method,
        path,
        headers: upstreamRequestHeaders(request.headers, framing, clientSideOf(request), this.config.trustProxy),
        framing,
        // An empty body is no body: nothing to stream (and the request stays retryable).
        body: framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0) ? null : request,
        clientAbort: exchange.clientAbort,
      },
      exchange,
    );
  }

  /** @internal No answer that can be forwarded: the proxy answers in the upstream's place. */
  failed(exchange: ProxyExchange, error: unknown): void {
    // Nobody is left to answer.
    if (exchange.clientAbort.aborted) return;
    const response = exchange.response;
    this.#closeIfDraining(response);
    const failure = toUpstreamError(error, this.target.toString());
    exchange.outcome = 'upstream_error';
    this.logger.warn(`${exchange.method} ${exchange.shown()} -> ${failure.status} ${failure.code}: ${failure.message}`);
    sendProxyError(response, failure.status, failure.code, failure.message, { upstream: this.target.toString() });
  }

  /** @internal The upstream's answer came: its head is written to the client, its body streams after. */
  answered(exchange: ProxyExchange, upstream: UpstreamResponse): void {
    const response = exchange.response;
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
      this.logger.warn(`${exchange.method} ${exchange.shown()} -> 502 ${failure.code}: ${failure.message} (${(error as { code?: string }).code ?? 'error'})`);
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
 * listeners of its response and upstream body, rather than closures per request. It is also
 * what hears from the upstream client ({@link UpstreamReceiver}): a failure of the proxy in
 * there is answered as any other (500), never thrown into the client's I/O callbacks.
 */
class ProxyExchange implements UpstreamReceiver {
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

  answered(upstream: UpstreamResponse): void {
    try {
      this.service.answered(this, upstream);
    } catch (error) {
      this.service.internalError(this.method, this.response, error);
    }
  }

  failed(error: unknown): void {
    try {
      this.service.failed(this, error);
    } catch (failure) {
      this.service.internalError(this.method, this.response, failure);
    }
  }

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
