import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import {
  ConnectionPoolModule,
  type ConnectionPoolModulePoolOptions,
  type ConnectionPoolOptionsFactory,
} from 'reactive-connection-pool/nest';

// The environment holds strings (PAYMENTS_MAX_CONNECTIONS=8, PAYMENTS_KEEP_ALIVE=30000): the
// module reads "8" as 8, "30000" as 30000 ms, "Infinity" and "true"/"false" as themselves, and
// the pool validates them as it validates any option ("0" or "eight" stop the application).
const paymentsPool = ConnectionPoolModule.forRootAsync({
  name: 'payments',
  inject: [ConfigService],
  useFactory: (config: ConfigService) => ({
    maxConnections: config.getOrThrow<string>('PAYMENTS_MAX_CONNECTIONS'),
    keepAlive: config.get<string>('PAYMENTS_KEEP_ALIVE', '30s'),
    acquireTimeout: config.get<string>('PAYMENTS_ACQUIRE_TIMEOUT', '5s'),
  }),
});

// Or a class that implements ConnectionPoolOptionsFactory, given with useClass (or useExisting).
@Injectable()
export class SearchPoolOptions implements ConnectionPoolOptionsFactory {
  constructor(private readonly config: ConfigService) {}

  createConnectionPoolOptions(): ConnectionPoolModulePoolOptions {
    return { maxIdleConnections: this.config.get<string>('SEARCH_MAX_IDLE', '10') };
  }
}

const searchPool = ConnectionPoolModule.forRootAsync({ name: 'search', useClass: SearchPoolOptions });

@Module({ imports: [ConfigModule.forRoot({ isGlobal: true }), paymentsPool, searchPool] })
export class AppModule {}
