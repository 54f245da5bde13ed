import * as http from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { ClientLimitsConfig } from '../config/app-config.js';
import { ClientConnections } from './client-connections.js';
import { frontDoor, type FrontDoorRoutes } from './front-door.js';

/**
 * How long an idle keep-alive client connection is kept: longer than the idle timeouts of
 * common load balancers (60 s), so that they, not this service, close idle connections
 * (otherwise a request can race the close).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * The options of the service's HTTP server: Node's strict parser whatever the process flags
 * say (`--insecure-http-parser` would let ambiguous framing through), a `Host` required on
 * HTTP/1.1, and the client timeouts of `CLIENT_HEADERS_TIMEOUT` / `CLIENT_REQUEST_TIMEOUT`,
 * checked often enough that a slow client is closed close to its deadline (Node checks every
 * 30 s by default).
 */
export function serverOptionsOf(clients: ClientLimitsConfig): http.ServerOptions {
  return {
    insecureHTTPParser: false,
    requireHostHeader: true,
    // Duplicate fields are refused or kept apart, never joined behind the gateway's back.
    joinDuplicateHeaders: false,
    headersTimeout: clients.headersTimeoutMs,
    requestTimeout: clients.requestTimeoutMs === Infinity ? 0 : clients.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(clients.headersTimeoutMs / 4))),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
}

/**
 * Nest's Express adapter, with the service's own HTTP server: made with
 * {@link serverOptionsOf}, its connections counted and capped ({@link ClientConnections}),
 * and every request passing the {@link frontDoor} before Express sees it (`/proxy/*` served
 * there, see {@link GatewayHttpAdapter.routes}).
 */
export class GatewayHttpAdapter extends ExpressAdapter {
  /** The client connections of the server, once it is made. */
  readonly connections: ClientConnections;
  /** The routes the front door serves before Express: the service sets the proxy's once Nest is up. */
  readonly routes: FrontDoorRoutes = { proxy: null };
  readonly #clients: ClientLimitsConfig;

  constructor(clients: ClientLimitsConfig) {
    super();
    this.#clients = clients;
    this.connections = new ClientConnections(clients.maxConnections);
    // Express's own error page shows a stack trace outside production: there is no page of its
    // own left to show (see installJsonErrorHandler), and this makes sure of it.
    this.getInstance().set('env', 'production');
  }

  /** Makes the HTTP server (Nest calls it once, before listening). HTTPS options are not used by the service. */
  override initHttpServer(_options: NestApplicationOptions): void {
    const server = http.createServer(serverOptionsOf(this.#clients), frontDoor(this.getInstance(), this.connections, this.routes));
    // Set again: some Node versions read it from the instance only.
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.connections.attach(server);
    this.setHttpServer(server);
  }
}
