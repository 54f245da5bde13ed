import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ConnectionPoolHealthIndicator } from '../../nest/index.js';
import { UPSTREAM_TARGET } from '../app.tokens.js';
import { ROUTES } from '../routes.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
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
 *   the connection limits, or when an address other than the upstream is unreachable.
 *
 * The upstream is declared critical because forwarding to it is all this service does: an
 * instance that cannot reach it (its node's network, a NetworkPolicy) should hand its
 * traffic to instances that can. The trade-off: when the upstream is down for every
 * instance, every instance turns unready and the Service has no ready endpoint, so clients
 * get refused connections instead of this service's 502 JSON, and each instance comes back
 * only once its last failure is older than the readiness window (30 s) and a connect
 * succeeds. See the README, "Readiness and a failing upstream".
 * - `GET /health/startup`: startup. Up once the service listens and everything is wired.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly pools: ConnectionPoolHealthIndicator,
    private readonly lifecycle: LifecycleHealthIndicator,
    @Inject(UPSTREAM_TARGET) private readonly target: UpstreamTarget,
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
      () =>
        this.pools.isHealthy('pool', {
          minConnectFailures: READINESS_MIN_CONNECT_FAILURES,
          // Only the upstream: any other address the pool is asked for is reported degraded.
          criticalAddresses: [this.target.origin],
        }),
    ]);
  }

  @Get(ROUTES.healthStartup)
  @HealthCheck()
  startup(): Promise<HealthCheckResult> {
    return this.health.check([() => this.lifecycle.isStarted('startup')]);
  }
}
