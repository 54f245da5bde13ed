import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import type { ConnectionPoolModulePoolOptions } from './config-string-options.js';
import { withCoreModule } from './connection-pool-core.module.js';
import { createConnectionPool } from './connection-pool.factory.js';
import { ConnectionPoolRegistry, type RegisteredConnectionPool } from './connection-pool.registry.js';
import {
  CONNECTION_POOL_MODULE_OPTIONS,
  CONNECTION_POOL_NAME,
  CONNECTION_POOL_REGISTRATION,
  DEFAULT_POOL_NAME,
  assertPoolName,
  getConnectionPoolToken,
} from './connection-pool.tokens.js';
import { recordPoolDeclaration } from './unregistered-pool.fallbacks.js';

/** Options of a `ConnectionPoolModule` registration that shape the module, not the pool. */
export interface ConnectionPoolModuleExtras {
  /**
   * The pool's name, for `@InjectConnectionPool(name)`, `getConnectionPoolToken(name)`,
   * health checks, metric labels and event streams. Default `'default'`.
   */
  name?: string;
  /** Make the pool injectable everywhere without importing the module. Default false. */
  isGlobal?: boolean;
}

/**
 * The class a `useClass` / `useExisting` options provider of `forRootAsync()` implements.
 *
 * @example
 * ```ts
 * @Injectable()
 * class PoolConfig implements ConnectionPoolOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createConnectionPoolOptions(): ConnectionPoolModulePoolOptions {
 *     return { maxConnections: this.config.getOrThrow('POOL_MAX') }; // "8" from the environment is read as 8
 *   }
 * }
 * ```
 */
export interface ConnectionPoolOptionsFactory {
  createConnectionPoolOptions(): ConnectionPoolModulePoolOptions | Promise<ConnectionPoolModulePoolOptions>;
}

function addPool(definition: DynamicModule, extras: ConnectionPoolModuleExtras): DynamicModule {
  const name = extras.name ?? DEFAULT_POOL_NAME;
  assertPoolName(name);
  const token = getConnectionPoolToken(name);
  recordPoolDeclaration(name);
  return withCoreModule(definition, {
    isGlobal: extras.isGlobal,
    providers: [
      { provide: CONNECTION_POOL_NAME, useValue: name },
      {
        provide: CONNECTION_POOL_REGISTRATION,
        useFactory: (options: ConnectionPoolModulePoolOptions | undefined, registry: ConnectionPoolRegistry): RegisteredConnectionPool =>
          registry.register(name, createConnectionPool(name, options)),
        inject: [CONNECTION_POOL_MODULE_OPTIONS, ConnectionPoolRegistry],
      },
      {
        provide: token,
        useFactory: (registration: RegisteredConnectionPool) => registration.pool,
        inject: [CONNECTION_POOL_REGISTRATION],
      },
    ],
    exports: [token],
  });
}

/** What `ConfigurableModuleBuilder` makes for `ConnectionPoolModule`. */
export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<ConnectionPoolModulePoolOptions>({
  optionsInjectionToken: CONNECTION_POOL_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createConnectionPoolOptions')
  .setExtras<ConnectionPoolModuleExtras>({ name: DEFAULT_POOL_NAME, isGlobal: false }, addPool)
  .build();

/** What `ConnectionPoolModule.forRoot()` takes: the pool's options, a `name` and `isGlobal`. */
export type ConnectionPoolModuleOptions = typeof OPTIONS_TYPE;

/**
 * What `ConnectionPoolModule.forRootAsync()` takes: `imports`, `inject` and one of
 * `useFactory`, `useClass`, `useExisting` (giving the pool's options), a `name` and `isGlobal`.
 */
export type ConnectionPoolModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
