import { Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, UseGuards } from '@nestjs/common';
import { ConnectionPool } from '../../http/index.js';
import { POOL_EVENT_TYPES } from '../../nest/index.js';
import type { ConnectionInfo, PoolStats } from '../../pool/index.js';
import { AdminTokenGuard } from '../admin/admin-token.guard.js';
import { APP_CONFIG, UPSTREAM_CLIENT, UPSTREAM_TARGET } from '../app.tokens.js';
import type { AppConfig } from '../config/app-config.js';
import { EMBEDDED_ROUTES } from '../embedded-upstream/embedded-routes.js';
import { AppLifecycle } from '../lifecycle/app-lifecycle.js';
import { ROUTES } from '../routes.js';
import type { UpstreamClient } from '../upstream/upstream-client.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';

/** What `GET /pool` answers: enough for the dashboard to draw the pool before events arrive. */
export interface PoolSnapshot {
  /** The pool's clock now (ms), to age `createdAt` / `idleAt` and events' `at`. */
  readonly now: number;
  readonly phase: AppLifecycle['phase'];
  readonly upstream: {
    readonly url: string;
    readonly protocol: string;
    readonly embedded: boolean;
    /** Paths to try through `/proxy`, for the embedded upstream. */
    readonly examples: readonly string[];
  };
  /** The pool's options; limits of `Infinity` are null. */
  readonly options: {
    readonly maxIdleConnections: number;
    readonly keepAliveMs: number;
    readonly maxConnectionsPerAddress: number | null;
    readonly maxConnections: number | null;
    readonly acquireTimeoutMs: number | null;
    readonly connectTimeoutMs: number | null;
    readonly drainTimeoutMs: number | null;
  };
  readonly stats: PoolStats;
  readonly connections: readonly ConnectionInfo[];
  /** Routes of the live streams. */
  readonly streams: { readonly events: string; readonly cleanupTicks: string };
  readonly eventTypes: readonly string[];
  readonly admin: { readonly enabled: boolean };
}

/**
 * `GET /pool`: the pool's stats and connections now. `DELETE /pool/connections/:id`: evicts
 * one connection (idle: closed at once; in use: closed when its request ends), only with the
 * admin token.
 */
@Controller(ROUTES.pool)
export class PoolController {
  constructor(
    private readonly pool: ConnectionPool,
    private readonly lifecycle: AppLifecycle,
    private readonly admin: AdminTokenGuard,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(UPSTREAM_TARGET) private readonly target: UpstreamTarget,
    @Inject(UPSTREAM_CLIENT) private readonly client: UpstreamClient,
  ) {}

  @Get()
  snapshot(): PoolSnapshot {
    const { options } = this.pool;
    return {
      now: options.scheduler.now(),
      phase: this.lifecycle.phase,
      upstream: {
        url: this.target.toString(),
        protocol: this.client.protocol,
        embedded: this.target.embedded,
        examples: this.target.embedded ? EMBEDDED_ROUTES.map((route) => route.example) : ['/'],
      },
      options: {
        maxIdleConnections: options.maxIdleConnections,
        keepAliveMs: options.keepAliveMs,
        maxConnectionsPerAddress: finite(options.maxConnectionsPerAddress),
        maxConnections: finite(options.maxConnections),
        acquireTimeoutMs: finite(options.acquireTimeoutMs),
        connectTimeoutMs: finite(options.connectTimeoutMs),
        drainTimeoutMs: finite(options.drainTimeoutMs),
      },
      stats: this.pool.stats(),
      connections: this.pool.connections(),
      streams: { events: `/${this.config.eventsPath}`, cleanupTicks: `/${ROUTES.cleanupTicks}` },
      eventTypes: POOL_EVENT_TYPES,
      admin: { enabled: this.admin.enabled },
    };
  }

  /** @throws NotFoundException (404) for a connection that is not in the pool. */
  @Delete('connections/:id')
  @HttpCode(200)
  @UseGuards(AdminTokenGuard)
  evict(@Param('id') id: string): { readonly id: string; readonly evicted: true; readonly closesWhenReleased: boolean } {
    const before = this.pool.connections().find((connection) => connection.id === id);
    if (before === undefined || !this.pool.evict(id)) {
      throw new NotFoundException(`No connection "${id}" in the pool (GET /pool lists them).`);
    }
    return { id, evicted: true, closesWhenReleased: before.state !== 'idle' };
  }
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
