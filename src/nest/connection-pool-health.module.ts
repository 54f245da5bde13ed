import { Module } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ConnectionPoolCoreModule } from './connection-pool-core.module.js';
import { ConnectionPoolHealthIndicator } from './connection-pool.health.js';

/**
 * Provides {@link ConnectionPoolHealthIndicator}. The health controller's module imports
 * `TerminusModule` as usual (for `HealthCheckService`, configured as the application wants);
 * this module only needs terminus's stateless `HealthIndicatorService`, which it provides
 * itself rather than import a second, differently configured `TerminusModule`.
 *
 * @example
 * ```ts
 * @Module({ imports: [TerminusModule, ConnectionPoolHealthModule], controllers: [HealthController] })
 * class HealthModule {}
 * ```
 */
@Module({
  imports: [ConnectionPoolCoreModule],
  providers: [HealthIndicatorService, ConnectionPoolHealthIndicator],
  exports: [ConnectionPoolHealthIndicator],
})
export class ConnectionPoolHealthModule {}
