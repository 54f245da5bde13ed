/**
 * The HTTP layer: Node's http(s).Agent and an undici Dispatcher over the pool, their retry
 * policy, and the pool with its default connector and HTTP clients plugged in.
 */
export { ConnectionPool } from './http-connection-pool.js';
export { PooledAgent } from './pooled-agent.js';
export type { PooledAgentOptions } from './pooled-agent.js';
export { PoolDispatcher } from './pool-dispatcher.js';
export type { PoolDispatcherOptions } from './pool-dispatcher.js';
export { ConnectionGoneError, StaleConnectionError, UnsupportedTransportError } from './errors.js';
export type { HttpPoolErrorCode } from './errors.js';
export { classifyFailure, decideRetry, isIdempotent, isReplayableBody } from './retry-policy.js';
export type { FailedAttempt, FailureVerdict, RetryDecision } from './retry-policy.js';
export { parseKeepAliveTimeout } from './keep-alive-hint.js';
