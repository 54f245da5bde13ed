import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ConnectionPoolHealthIndicator, ConnectionPoolHealthModule, ConnectionPoolModule } from 'reactive-connection-pool/nest';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly pools: ConnectionPoolHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.pools.isHealthy('pool'), // the default pool
      () => this.pools.isHealthy('payments', { pool: 'payments', window: '1m' }),
    ]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.pools.isAlive('pool')]);
  }
}

@Module({
  imports: [
    ConnectionPoolModule.forRoot({ keepAlive: '30s' }),
    ConnectionPoolModule.forRoot({ name: 'payments', maxConnections: 8 }),
    TerminusModule,
    ConnectionPoolHealthModule,
  ],
  controllers: [HealthController],
})
export class HealthAppModule {}
