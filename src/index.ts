/**
 * reactive-connection-pool: an OkHttp-style connection pool for Node.js, built as XState
 * actors and RxJS streams.
 *
 * `ConnectionPool` here is the complete pool: TCP/TLS connections by default and HTTP agents
 * on top. The NestJS integration is the `reactive-connection-pool/nest` entry point.
 *
 * @packageDocumentation
 */
export * from './pool/index.js';
export * from './transport/index.js';
export * from './http/index.js';
// The complete pool (TCP/TLS by default, HTTP agents) takes the engine's name.
export { ConnectionPool } from './http/index.js';
