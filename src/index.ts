/**
 * reactive-connection-pool: an OkHttp-style connection pool for Node.js, built as XState
 * actors and RxJS streams.
 *
 * @packageDocumentation
 */
export * from './pool/index.js';
