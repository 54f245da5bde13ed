/**
 * The HTTP layer: Node's http(s).Agent over the pool, and the pool with its default
 * connector and HTTP clients plugged in.
 */
export { ConnectionPool } from './http-connection-pool.js';
export { PooledAgent } from './pooled-agent.js';
export type { PooledAgentOptions } from './pooled-agent.js';
export { parseKeepAliveTimeout } from './keep-alive-hint.js';
