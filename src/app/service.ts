import type { Server } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { SchedulerLike } from 'rxjs';
import { ConnectionPool } from '../http/index.js';
import { AppModule } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { EmbeddedUpstream } from './embedded-upstream/embedded-upstream.js';
import type { ClientConnections } from './http-server/client-connections.js';
import { GatewayHttpAdapter } from './http-server/gateway-http-adapter.js';
import { jsonErrorHandler } from './http-server/json-error-handler.js';
import { AppLifecycle } from './lifecycle/app-lifecycle.js';
import { InFlightRequests } from './lifecycle/in-flight-requests.js';
import { ProxyService } from './proxy/proxy.service.js';
import type { Drainable } from './lifecycle/graceful-shutdown.js';
import { UpstreamTarget } from './upstream/upstream-target.js';

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** Nest's logger; `false` for none. Default: Nest's console logger. */
  readonly logger?: LoggerService | false;
  /** The pool's clock and timers (tests pass a virtual-time scheduler). */
  readonly scheduler?: SchedulerLike;
  /** How the upstream's name is resolved (default `dns.lookup`; tests simulate a Service's DNS). */
  readonly lookup?: LookupFunction;
}

/** A running service. */
export interface StartedService extends Drainable {
  readonly app: NestExpressApplication;
  readonly config: AppConfig;
  /** The service's base URL, e.g. `http://127.0.0.1:3000` (a loopback address when listening on all). */
  readonly url: string;
  readonly port: number;
  readonly target: UpstreamTarget;
  /** The embedded upstream, when no `UPSTREAM_URL` was given. */
  readonly embedded: EmbeddedUpstream | null;
  readonly pool: ConnectionPool;
  /** The client connections of the HTTP server, counted and capped (`CLIENT_MAX_CONNECTIONS`). */
  readonly clientConnections: ClientConnections;
}

/** The service could not start for a reason the operator can fix; the message says how. */
export class ServiceStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceStartError';
  }
}

/**
 * Starts the gateway: the embedded upstream if no upstream is configured, then the Nest
 * application, listening on `config.host:config.port`. Readiness passes once this resolves.
 *
 * @throws ServiceStartError when the port is taken or the address cannot be bound.
 */
export async function startService(config: AppConfig, options: StartServiceOptions = {}): Promise<StartedService> {
  let embedded: EmbeddedUpstream | null = null;
  let target: UpstreamTarget;
  if (config.upstream === null) {
    embedded = await EmbeddedUpstream.start();
    // With UPSTREAM_HTTP2 (auto/always), its TLS endpoint (h2 by ALPN), trusting its own certificate.
    target =
      config.upstreamHttp2 !== 'never' && embedded.tlsUrl !== null && embedded.certificate !== null
        ? new UpstreamTarget(embedded.tlsUrl, { embedded: true, ca: embedded.certificate })
        : new UpstreamTarget(embedded.http1Url, { embedded: true });
  } else {
    target = new UpstreamTarget(config.upstream.url, { ca: config.upstream.ca });
  }
  let app: NestExpressApplication | undefined;
  const adapter = new GatewayHttpAdapter(config.clients);
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, target, scheduler: options.scheduler, lookup: options.lookup }), adapter, {
      // The proxy streams request bodies as they come: nothing may read them first.
      bodyParser: false,
      // Fail with an error the caller can report, not process.abort().
      abortOnError: false,
      logger: options.logger ?? undefined,
    });
    app.disable('x-powered-by');
    await app.init();
    // `/proxy/*` is served by the front door itself, before Express (see frontDoor()).
    adapter.routes.proxy = app.get(ProxyService).handle;
    // After Nest's routes and handlers: the last word on any error, in JSON, without details.
    app.use(jsonErrorHandler(new Logger('Http')));
    await listen(app, config);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await embedded?.close();
    throw error;
  }

  const server = app.getHttpServer() as Server;
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const lifecycle = app.get(AppLifecycle);
  lifecycle.markServing();
  const started: StartedService = {
    app,
    config,
    url: `http://${displayHost(config.host)}:${port}`,
    port,
    target,
    embedded,
    pool: app.get(ConnectionPool),
    clientConnections: adapter.connections,
    lifecycle,
    inFlight: app.get(InFlightRequests),
    close: closeOnce(async () => {
      await app.close();
      await embedded?.close();
    }),
    cutConnections: () => server.closeAllConnections(),
  };
  return started;
}

async function listen(app: NestExpressApplication, config: AppConfig): Promise<void> {
  try {
    await app.listen(config.port, config.host);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const where = `${config.host}:${config.port}`;
    if (code === 'EADDRINUSE') {
      throw new ServiceStartError(`Cannot listen on ${where}: the port is already in use (EADDRINUSE). Stop what uses it, or choose another port: PORT=${config.port === 3000 ? 3001 : config.port + 1} npm start`, { cause: error });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new ServiceStartError(`Cannot listen on ${where}: HOST is not an address of this machine (${code}). Use 127.0.0.1, 0.0.0.0 or one of its addresses.`, { cause: error });
    }
    if (code === 'EACCES') {
      throw new ServiceStartError(`Cannot listen on ${where}: permission denied (EACCES); ports under 1024 need privileges. Choose a port >= 1024.`, { cause: error });
    }
    throw error;
  }
}

/** A host to put in a URL to open: a wildcard address becomes loopback. */
function displayHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
