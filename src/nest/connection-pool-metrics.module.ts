import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import {
  ConfigurableMetricsModuleClass,
  type ConnectionPoolMetricsModuleOptions,
} from './connection-pool-metrics.module-definition.js';
import { ConnectionPoolMetrics } from './connection-pool.metrics.js';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';

/**
 * Prometheus metrics of every pool of the application ({@link ConnectionPoolMetrics}),
 * labelled by pool name. `forRoot({ registry?, prefix?, maxAddressLabels?, buckets? })` or
 * `forRootAsync({ ... })`; by default the metrics go to prom-client's default registry, so
 * that `@willsoto/nestjs-prometheus` (or any `/metrics` route serving it) shows them.
 *
 * Pools are measured from the moment they are made. On shutdown the metrics are removed
 * from the registry, so that the same names can be registered again.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     PrometheusModule.register(),                       // GET /metrics, default registry
 *     ConnectionPoolModule.forRoot({ connector }),
 *     ConnectionPoolMetricsModule.forRoot({ maxAddressLabels: 20 }),
 *   ],
 * })
 * class AppModule {}
 * ```
 */
@Module({})
export class ConnectionPoolMetricsModule extends ConfigurableMetricsModuleClass implements OnApplicationShutdown {
  readonly #metrics: ConnectionPoolMetrics;
  readonly #stopFollowing: () => void;

  constructor(metrics: ConnectionPoolMetrics, pools: ConnectionPoolRegistry) {
    super();
    this.#metrics = metrics;
    // Every pool, those made before this module and those made after.
    this.#stopFollowing = pools.subscribe((registration) => {
      metrics.track(registration.name, registration.pool);
    });
  }

  /** `forRoot()` with nothing: the default registry, prefix and limits. */
  static override forRoot(options: ConnectionPoolMetricsModuleOptions = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Stops measuring and removes the metrics from the registry. */
  onApplicationShutdown(): void {
    this.#stopFollowing();
    this.#metrics.dispose();
  }
}
