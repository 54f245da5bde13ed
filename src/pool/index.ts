/**
 * The pool engine: connection actors, the cleanup stream, leases and leak detection.
 * It knows nothing of sockets; connectors and transports plug in from outside.
 */
export { ConnectionPool } from './connection-pool.js';
export type { AcquireOptions, CloseOptions, ConnectionInfo, PoolStats, RetryReport } from './pool-types.js';
export { AddressResolver, isAddress } from './address.js';
export { checkTlsOptions } from './tls-options.js';
export type { Address, AddressInput, AddressOptions, AddressProtocol, TlsAddressOptions } from './address.js';
export { connectionMachine } from './connection.machine.js';
export type { ConnectionContext, ConnectionInput, ConnectionMachineEvent, ConnectionOutput, ConnectionState, EvictEvent, EvictionReason } from './connection.machine.js';
export { DIAGNOSTICS_CHANNEL_PREFIX } from './pool-event-emitter.js';
export { parseDuration } from './duration.js';
export type { Duration } from './duration.js';
export * from './errors.js';
export type * from './events.js';
export { POOL_EVENT_TYPES } from './events.js';
export type { ConnectionView, Lease } from './lease.js';
export type { ConnectionPoolOptions, ResolvedPoolOptions } from './options.js';
export type { ConnectContext, ConnectionHooks, Connector, Transport } from './transport.js';
export { UnrefTimerScheduler, unrefTimerScheduler } from './unref-scheduler.js';
