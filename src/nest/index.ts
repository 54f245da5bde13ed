/**
 * NestJS integration: `ConnectionPoolModule`, its tokens and decorator, a terminus health
 * indicator, Prometheus metrics and a live event stream (Server-Sent Events).
 * See docs/nest.md.
 *
 * @packageDocumentation
 */

// The module, its tokens, and the registry of the application's pools.
export { ConnectionPoolModule } from './connection-pool.module.js';
export type {
  ConnectionPoolModuleAsyncOptions,
  ConnectionPoolModuleExtras,
  ConnectionPoolModuleOptions,
  ConnectionPoolOptionsFactory,
} from './connection-pool.module-definition.js';
export { poolOptionsFromConfig } from './config-string-options.js';
export type { ConfigString, ConnectionPoolModulePoolOptions } from './config-string-options.js';
export { DEFAULT_POOL_NAME, getConnectionPoolToken } from './connection-pool.tokens.js';
export { InjectConnectionPool } from './inject-connection-pool.decorator.js';
export { ConnectionPoolCoreModule } from './connection-pool-core.module.js';
export { ConnectionPoolRegistry } from './connection-pool.registry.js';
export type { ConnectionPoolRegistryListener, RegisteredConnectionPool } from './connection-pool.registry.js';
export { ConnectionPoolActivity } from './connection-pool.activity.js';
export type { AddressConnectRecord, ConnectionPoolActivityOptions } from './connection-pool.activity.js';

// A feature used without its optional peer (@nestjs/terminus, prom-client) throws this.
export { MissingPeerDependencyError } from './optional-peer.js';

// Health (@nestjs/terminus, loaded when the indicator is made).
export { ConnectionPoolHealthIndicator } from './connection-pool.health.js';
export type {
  ConnectionPoolLivenessDetails,
  ConnectionPoolLivenessOptions,
  ConnectionPoolReadinessDetails,
  ConnectionPoolReadinessOptions,
} from './connection-pool.health.js';
export { ConnectionPoolHealthModule } from './connection-pool-health.module.js';

// Metrics (prom-client, loaded when the metrics are made).
export { ConnectionPoolMetrics } from './connection-pool.metrics.js';
export { CONNECTION_POOL_METRIC_NAMES } from './connection-pool-metrics.options.js';
export type { ConnectionPoolMetricName, ConnectionPoolMetricsBuckets, ConnectionPoolMetricsOptions } from './connection-pool-metrics.options.js';
export { ConnectionPoolMetricsModule } from './connection-pool-metrics.module.js';
export type {
  ConnectionPoolMetricsModuleAsyncOptions,
  ConnectionPoolMetricsModuleExtras,
  ConnectionPoolMetricsModuleOptions,
  ConnectionPoolMetricsOptionsFactory,
} from './connection-pool-metrics.module-definition.js';
export { AddressLabels, OTHER_ADDRESS_LABEL } from './address-labels.js';

// Live events (Server-Sent Events).
export { ConnectionPoolEventsModule } from './connection-pool-events.module.js';
export { ConnectionPoolEventsController } from './connection-pool-events.controller.js';
export { ConnectionPoolEventsService } from './connection-pool-events.service.js';
export type { PoolEventsClient, PoolEventsQuery } from './connection-pool-events.service.js';
export { resolveEventsOptions } from './connection-pool-events.options.js';
export type { ConnectionPoolEventsOptions, ResolvedConnectionPoolEventsOptions } from './connection-pool-events.options.js';
export { POOL_EVENT_TYPES, matchesPoolEventFilter, parsePoolEventFilter } from './pool-event.filter.js';
export type { PoolEventFilter, PoolEventFilterQuery } from './pool-event.filter.js';
export { redactText, serializePoolEvent, toSafeError } from './pool-event.serializer.js';
export type { SafeError, SerializedPoolEvent } from './pool-event.serializer.js';
export { DEFAULT_SSE_FLUSH_INTERVAL_MS, SseEventWriter } from './sse-event.writer.js';
export type { SseEventWriterOptions, SseMessage, SseStreamStats } from './sse-event.writer.js';
