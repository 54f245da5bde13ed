import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ConnectionPoolHealthIndicator } from '../../nest/index.js';
import { ROUTES } from '../routes.js';
import { LifecycleHealthIndicator } from './lifecycle.health.js';

/** Failed connects in a row (the last one recent) that make readiness report the upstream unreachable. */
export const READINESS_MIN_CONNECT_FAILURES = 3;

/**
 * The three Kubernetes probes (see docs/nest.md, "Health"):
 *
 * - `GET /health/live`: liveness. Only the pool's own machinery (its cleanup stream runs);
 *   never the upstream, whose outage a restart would not fix.
 * - `GET /health/ready`: readiness. Down at once when a drain begins (SIGTERM), and while the
 *   pool reports the upstream unreachable (3 failed connects in a row) or acquirers timing out; `degraded` (still 200) near
 *   the connection limits.
 * - `GET /health/startup`: startup. Up once the service listens and everything is wired.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly pools: ConnectionPoolHealthIndicator,
    private readonly lifecycle: LifecycleHealthIndicator,
  ) {}

  @Get(ROUTES.healthLive)
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.pools.isAlive('pool')]);
  }

  @Get(ROUTES.healthReady)
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.lifecycle.isServing('lifecycle'),
      // Three refused connects in a row, not one: a single blip should not pull every instance out of rotation.
      () => this.pools.isHealthy('pool', { minConnectFailures: READINESS_MIN_CONNECT_FAILURES }),
    ]);
  }

  @Get(ROUTES.healthStartup)
  @HealthCheck()
  startup(): Promise<HealthCheckResult> {
    return this.health.check([() => this.lifecycle.isStarted('startup')]);
  }
}
