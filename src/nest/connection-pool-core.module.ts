import { Global, Module } from '@nestjs/common';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';

/**
 * Holds the application's {@link ConnectionPoolRegistry}. Global, and imported by every
 * module of this package, so that one registry serves every pool, health check, metrics
 * collector and event stream of the application, whichever module registered them.
 */
@Global()
@Module({ providers: [ConnectionPoolRegistry], exports: [ConnectionPoolRegistry] })
export class ConnectionPoolCoreModule {}
