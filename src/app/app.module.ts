import type { LookupFunction } from 'node:net';
import { Inject, Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import type { SchedulerLike } from 'rxjs';
import { ConnectionPool } from '../http/index.js';
import { NetConnector } from '../transport/index.js';
import {
  ConnectionPoolEventsModule,
  ConnectionPoolHealthModule,
  ConnectionPoolMetricsModule,
  ConnectionPoolModule,
  type ConnectionPoolModuleOptions,
} from '../nest/index.js';
import { AdminTokenGuard } from './admin/admin-token.guard.js';
import { APP_CONFIG, UPSTREAM_CLIENT, UPSTREAM_TARGET } from './app.tokens.js';
import type { AppConfig } from './config/app-config.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { HealthCheckLogger } from './health/health-check.logger.js';
import { HealthController } from './health/health.controller.js';
import { LifecycleHealthIndicator } from './health/lifecycle.health.js';
import { AppLifecycle } from './lifecycle/app-lifecycle.js';
import { DrainingMiddleware } from './lifecycle/draining.middleware.js';
import { InFlightRequests } from './lifecycle/in-flight-requests.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsRegistryModule } from './metrics/metrics-registry.module.js';
import { OtlpMetricsExport } from './metrics/otlp-metrics.export.js';
import { ProxyMetrics } from './metrics/proxy.metrics.js';
import { CleanupTicksController } from './pool/cleanup-ticks.controller.js';
import { CleanupTicksStreams } from './pool/cleanup-ticks.streams.js';
import { EventStreamsLimit } from './pool/event-streams.limit.js';
import { PoolController } from './pool/pool.controller.js';
import { ProxyService } from './proxy/proxy.service.js';
import { ROUTES } from './routes.js';
import { DispatcherUpstreamClient } from './upstream/dispatcher-upstream-client.js';
import { Http1UpstreamClient } from './upstream/http1-upstream-client.js';
import type { UpstreamClient } from './upstream/upstream-client.js';
import type { UpstreamTarget } from './upstream/upstream-target.js';

/** What {@link AppModule.forRoot} is built from. */
export interface AppModuleOptions {
  readonly config: AppConfig;
  /** Where the proxy forwards to (from `UPSTREAM_URL`, or the embedded upstream). */
  readonly target: UpstreamTarget;
  /** The pool's clock and timers (and so the upstream timeouts'); tests pass a virtual-time scheduler. */
  readonly scheduler?: SchedulerLike;
  /** How the upstream's name is resolved (default `dns.lookup`); tests simulate a Service's DNS with it. */
  readonly lookup?: LookupFunction;
}

// `/proxy/*` has no controller: the front door serves it with ProxyService.handle, before Express.
const CONTROLLERS = [DashboardController, HealthController, PoolController, CleanupTicksController, MetricsController];

/**
 * The reference gateway: one pool (the default one) for the upstream connections, the proxy
 * over it, the probes, metrics, the event streams and the dashboard.
 */
@Module({})
export class AppModule implements NestModule {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  static forRoot(options: AppModuleOptions): DynamicModule {
    const { config, target, scheduler } = options;
    return {
      module: AppModule,
      imports: [
        ConnectionPoolModule.forRoot(poolOptionsOf(config, scheduler, options.lookup)),
        TerminusModule.forRoot({ logger: HealthCheckLogger }),
        ConnectionPoolHealthModule,
        MetricsRegistryModule,
        ConnectionPoolMetricsModule.forRootAsync({
          imports: [MetricsRegistryModule],
          inject: [Registry],
          useFactory: (registry: Registry) => ({ registry }),
        }),
        ConnectionPoolEventsModule.forRoot({ path: config.eventsPath }),
      ],
      controllers: CONTROLLERS,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: UPSTREAM_TARGET, useValue: target },
        {
          provide: UPSTREAM_CLIENT,
          // UPSTREAM_HTTP2=never: the gateway's own HTTP/1.1 client over the pool's connections; auto/always: the pool's undici dispatcher (h2 by ALPN).
          useFactory: (pool: ConnectionPool): UpstreamClient =>
            config.upstreamHttp2 === 'never'
              ? new Http1UpstreamClient(pool, target, { timeoutMs: config.upstreamTimeoutMs })
              : new DispatcherUpstreamClient(pool, target, { timeoutMs: config.upstreamTimeoutMs, http2: config.upstreamHttp2 }),
          inject: [ConnectionPool],
        },
        AppLifecycle,
        InFlightRequests,
        ProxyService,
        ProxyMetrics,
        ...OtlpMetricsExport.providers(config.otlpMetrics),
        AdminTokenGuard,
        LifecycleHealthIndicator,
        CleanupTicksStreams,
        DrainingMiddleware,
        EventStreamsLimit,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(DrainingMiddleware).forRoutes(...CONTROLLERS);
    consumer.apply(EventStreamsLimit).forRoutes({ path: this.config.eventsPath, method: RequestMethod.GET }, { path: ROUTES.cleanupTicks, method: RequestMethod.GET });
  }
}

/** The pool's options from the configuration. */
export function poolOptionsOf(config: AppConfig, scheduler?: SchedulerLike, lookup?: LookupFunction): ConnectionPoolModuleOptions {
  const { pool } = config;
  return {
    maxIdleConnections: pool.maxIdleConnections,
    keepAlive: pool.keepAliveMs,
    maxConnectionsPerAddress: pool.maxConnectionsPerAddress,
    maxConnections: pool.maxConnections,
    acquireTimeout: pool.acquireTimeoutMs,
    connectTimeout: pool.connectTimeoutMs,
    drainTimeout: config.drainTimeoutMs,
    maxLifetime: pool.maxLifetimeMs,
    connector: new NetConnector({ balance: config.upstreamBalance, ...(lookup === undefined ? {} : { lookup }) }),
    ...(pool.leakDetectionThresholdMs === undefined ? {} : { leakDetectionThreshold: pool.leakDetectionThresholdMs }),
    ...(scheduler === undefined ? {} : { scheduler }),
  };
}
