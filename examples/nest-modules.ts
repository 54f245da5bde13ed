import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import {
  ConnectionPoolEventsModule,
  ConnectionPoolHealthModule,
  ConnectionPoolMetricsModule,
  ConnectionPoolModule,
} from 'reactive-connection-pool/nest';
import { HealthController } from './nest-health.js'; // GET /health/ready and /health/live (below)

@Module({
  imports: [
    ConnectionPoolModule.forRoot({ maxConnectionsPerAddress: 10 }), // injectable as ConnectionPool
    ConnectionPoolModule.forRoot({ name: 'payments', maxConnections: 8 }), // @InjectConnectionPool('payments')
    TerminusModule,
    ConnectionPoolHealthModule, // ConnectionPoolHealthIndicator (needs @nestjs/terminus)
    PrometheusModule.register(), // @willsoto/nestjs-prometheus: GET /metrics, prom-client's default registry
    ConnectionPoolMetricsModule.forRoot(), // the pools' metrics in that registry (needs prom-client)
    ConnectionPoolEventsModule.forRoot(), // GET /connection-pool/events (Server-Sent Events)
  ],
  controllers: [HealthController],
})
export class AppModule {}
