import { Module } from '@nestjs/common';
import { ConnectionPoolCoreModule } from './connection-pool-core.module.js';
import { ConnectionPoolHealthIndicator } from './connection-pool.health.js';

/**
 * Provides {@link ConnectionPoolHealthIndicator}. The health controller's module imports
 * `TerminusModule` as usual (for `HealthCheckService`, configured as the application wants);
 * the indicator only needs terminus's stateless `HealthIndicatorService`, which it makes
 * itself rather than import a second, differently configured `TerminusModule`. Needs
 * `@nestjs/terminus` (11 or 12) installed.
 *
 * @example
 * ```ts
 * @Module({ imports: [TerminusModule, ConnectionPoolHealthModule], controllers: [HealthController] })
 * class HealthModule {}
 * ```
 */
@Module({
  imports: [ConnectionPoolCoreModule],
  providers: [ConnectionPoolHealthIndicator],
  exports: [ConnectionPoolHealthIndicator],
})
export class ConnectionPoolHealthModule {}
