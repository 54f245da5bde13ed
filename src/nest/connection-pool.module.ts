import { Inject, Module, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigurableModuleClass } from './connection-pool.module-definition.js';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';
import type { RegisteredConnectionPool } from './connection-pool.registry.js';
import { CONNECTION_POOL_REGISTRATION } from './connection-pool.tokens.js';

/**
 * Makes a {@link ConnectionPool} an injectable, managed provider.
 *
 * - `forRoot(options)` / `forRootAsync({ imports, inject, useFactory | useClass | useExisting })`:
 *   the options are the pool's (validated at boot: a bad one stops the application, naming the
 *   option, the value and the pool), plus `name` (several pools in one application) and
 *   `isGlobal`.
 * - The pool is closed in `onApplicationShutdown`, after the HTTP server has stopped taking
 *   requests: leases are waited for up to the pool's `drainTimeout`, then everything is closed.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     ConnectionPoolModule.forRoot({ connector, maxConnectionsPerAddress: 10 }),
 *     ConnectionPoolModule.forRootAsync({
 *       name: 'payments',
 *       imports: [ConfigModule],
 *       inject: [ConfigService],
 *       useFactory: (config: ConfigService) => ({ connector, keepAlive: config.get('PAYMENTS_KEEP_ALIVE', '30s') }),
 *     }),
 *   ],
 * })
 * class AppModule {}
 *
 * @Injectable()
 * class PaymentsClient {
 *   constructor(@InjectConnectionPool('payments') private readonly pool: ConnectionPool) {}
 * }
 * ```
 */
@Module({})
export class ConnectionPoolModule extends ConfigurableModuleClass implements OnApplicationShutdown {
  readonly #registration: RegisteredConnectionPool | undefined;
  readonly #registry: ConnectionPoolRegistry | undefined;

  constructor(
    // Optional: the class imported without forRoot() has no pool, and nothing to close.
    @Optional() @Inject(CONNECTION_POOL_REGISTRATION) registration?: RegisteredConnectionPool,
    @Optional() registry?: ConnectionPoolRegistry,
  ) {
    super();
    this.#registration = registration;
    this.#registry = registry;
  }

  /** Drains and closes this registration's pool (Nest calls it on `app.close()` or a signal). */
  async onApplicationShutdown(): Promise<void> {
    const registration = this.#registration;
    if (registration === undefined) return;
    await registration.pool.close();
    this.#registry?.unregister(registration);
  }
}
