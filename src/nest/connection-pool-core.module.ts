import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';

/**
 * Holds the application's {@link ConnectionPoolRegistry}. Global, and imported by every
 * module of this package, so that one registry serves every pool, health check, metrics
 * collector and event stream of the application, whichever module registered them.
 */
@Global()
@Module({ providers: [ConnectionPoolRegistry], exports: [ConnectionPoolRegistry] })
export class ConnectionPoolCoreModule {}

/**
 * A module definition made by `ConfigurableModuleBuilder`, made global or not, importing
 * {@link ConnectionPoolCoreModule}, with `providers` added and `exports` exported: what each
 * of this package's configurable modules adds to its definition.
 */
export function withCoreModule(
  definition: DynamicModule,
  added: { readonly isGlobal: boolean | undefined; readonly providers: Provider[]; readonly exports: NonNullable<DynamicModule['exports']> },
): DynamicModule {
  return {
    ...definition,
    global: added.isGlobal === true,
    imports: [...(definition.imports ?? []), ConnectionPoolCoreModule],
    providers: [...(definition.providers ?? []), ...added.providers],
    exports: [...(definition.exports ?? []), ...added.exports],
  };
}
