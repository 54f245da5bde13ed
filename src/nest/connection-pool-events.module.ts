import { Controller, Module, type DynamicModule } from '@nestjs/common';
import { ConnectionPoolCoreModule } from './connection-pool-core.module.js';
import { ConnectionPoolEventsController } from './connection-pool-events.controller.js';
import { resolveEventsOptions, type ConnectionPoolEventsOptions } from './connection-pool-events.options.js';
import { ConnectionPoolEventsService } from './connection-pool-events.service.js';
import { CONNECTION_POOL_EVENTS_OPTIONS } from './connection-pool.tokens.js';

/**
 * The pools' live events over Server-Sent Events: {@link ConnectionPoolEventsService}, and
 * (unless `path: false`) a controller at `path` (default `connection-pool/events`).
 *
 * @example
 * ```ts
 * @Module({ imports: [ConnectionPoolModule.forRoot({ connector }), ConnectionPoolEventsModule.forRoot({ path: 'ops/pool-events' })] })
 * class AppModule {}
 * // curl -N 'http://localhost:3000/ops/pool-events?type=connect-failed,connection-closed'
 * ```
 */
@Module({})
export class ConnectionPoolEventsModule {
  /**
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option, when called.
   */
  static forRoot(options: ConnectionPoolEventsOptions = {}): DynamicModule {
    const resolved = resolveEventsOptions(options);
    const controllers = [];
    if (resolved.path !== false) {
      // A subclass per registration, so that two applications (or two registrations) can
      // mount the stream at different paths without changing the shared class's metadata.
      class PoolEventsController extends ConnectionPoolEventsController {}
      Controller(resolved.path)(PoolEventsController);
      controllers.push(PoolEventsController);
    }
    return {
      module: ConnectionPoolEventsModule,
      imports: [ConnectionPoolCoreModule],
      controllers,
      providers: [{ provide: CONNECTION_POOL_EVENTS_OPTIONS, useValue: resolved }, ConnectionPoolEventsService],
      exports: [ConnectionPoolEventsService],
    };
  }
}
