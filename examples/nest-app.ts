import { HttpModule, HttpService } from '@nestjs/axios';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { firstValueFrom } from 'rxjs';
import { ConnectionPool } from 'reactive-connection-pool';
import {
  ConnectionPoolEventsModule,
  ConnectionPoolHealthIndicator,
  ConnectionPoolHealthModule,
  ConnectionPoolModule,
} from 'reactive-connection-pool/nest';

const ORDERS_API = process.env.ORDERS_API ?? 'http://127.0.0.1:8080';

@Injectable()
export class OrdersClient {
  constructor(private readonly http: HttpService) {}

  async list(): Promise<unknown> {
    return (await firstValueFrom(this.http.get(`${ORDERS_API}/orders`))).data;
  }
}

@Controller()
export class AppController {
  constructor(
    private readonly orders: OrdersClient,
    private readonly health: HealthCheckService,
    private readonly pool: ConnectionPoolHealthIndicator,
  ) {}

  @Get('orders')
  list(): Promise<unknown> {
    return this.orders.list();
  }

  @Get('health/live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.pool.isAlive('pool')]); // the pool's own machinery only
  }

  @Get('health/ready')
  @HealthCheck()
  ready() {
    // The pool's own state, and ORDERS_API: without it this app is of no use (other hosts failing: degraded).
    return this.health.check([() => this.pool.isHealthy('pool', { criticalAddresses: [ORDERS_API] })]);
  }
}

@Module({
  imports: [
    // isGlobal: HttpModule.registerAsync runs its factory in HttpModule's own module, which sees
    // only global providers; without it Nest cannot resolve ConnectionPool there.
    ConnectionPoolModule.forRoot({ isGlobal: true, maxIdleConnections: 10, keepAlive: '30s' }),
    HttpModule.registerAsync({
      inject: [ConnectionPool], // the default pool is injectable by its class
      useFactory: (pool: ConnectionPool) => ({ httpAgent: pool.httpAgent(), httpsAgent: pool.httpsAgent() }),
    }),
    TerminusModule,
    ConnectionPoolHealthModule,
    ConnectionPoolEventsModule.forRoot({ path: 'pool/events' }), // GET /pool/events: Server-Sent Events
  ],
  controllers: [AppController],
  providers: [OrdersClient],
})
export class AppModule {}
