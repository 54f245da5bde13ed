import { Controller, Get, Query } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ConnectionPoolHealthIndicator } from '../../../src/nest/index.js';

/** Readiness and liveness probes as an application would write them. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly pools: ConnectionPoolHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready(@Query('pool') pool?: string, @Query('critical') critical?: string) {
    const criticalAddresses = critical === undefined ? undefined : critical === 'all' ? 'all' : critical.split(',');
    return this.health.check([() => this.pools.isHealthy('pool', { pool, window: '30s', ...(criticalAddresses ? { criticalAddresses } : {}) })]);
  }

  @Get('live')
  @HealthCheck()
  live(@Query('pool') pool?: string) {
    return this.health.check([() => this.pools.isAlive('pool', { pool, grace: '5s' })]);
  }
}
