import { Module } from '@nestjs/common';
import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The application's own Prometheus registry (not prom-client's global one), so that two
 * instances of the service in one process (tests) never share or clash on metrics. It holds
 * Node's process metrics, the pool's (`connection_pool_*`) and the proxy's (`gateway_*`).
 */
@Module({
  providers: [
    {
      provide: Registry,
      useFactory: (): Registry => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
  ],
  exports: [Registry],
})
export class MetricsRegistryModule {}
