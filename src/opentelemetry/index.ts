/**
 * `reactive-connection-pool/opentelemetry`: the pool measured with OpenTelemetry, as the HTTP
 * semantic conventions name things (`http.client.open_connections`,
 * `http.client.connection.duration`, `http.client.request.time_in_queue`) plus the pool's own
 * counts under `reactive_connection_pool.*`.
 *
 * Needs `@opentelemetry/api` (an optional peer dependency of the package: only this entry
 * point imports it).
 *
 * @packageDocumentation
 */
export { instrumentConnectionPool } from './instrument-connection-pool.js';
export type { ConnectionPoolInstrumentation, InstrumentConnectionPoolOptions } from './instrument-connection-pool.js';
export { ATTRIBUTE_NAMES, CONNECTION_DURATION_BUCKETS, INSTRUMENT_NAMES, METER_NAME, TIME_IN_QUEUE_BUCKETS } from './instruments.js';
export { OTHER_VALUE } from './server-attributes.js';
export type { ServerAttributes } from './server-attributes.js';
