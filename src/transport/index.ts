/**
 * The transport layer: the default TCP/TLS connector and the socket transports it makes.
 * It depends on the pool engine (`src/pool`) and nothing above it.
 */
export { ConnectError, ProxyTunnelError } from './errors.js';
export type { ProxyTunnelErrorCode } from './errors.js';
export { NetConnector, createNetConnector } from './net-connector.js';
export type { Http2Options, NetConnectorOptions, NetTransport } from './net-connector.js';
export { BALANCE_MODES, FAILED_ADDRESS_PENALTY_MS } from './connection-balancer.js';
export type { BalanceMode } from './connection-balancer.js';
export { DEGRADED_PING_TIMEOUT_MS, Http2SessionTransport, STREAM_ID_RETIREMENT } from './http2-session-transport.js';
export type { Http2SessionSettings, Http2UnfitReason } from './http2-session-transport.js';
export { openHttp2Session } from './http2-connect.js';
export type { Http2ConnectContext } from './http2-connect.js';
export { PingProbe } from './ping-probe.js';
export type { SendPing } from './ping-probe.js';
export { SocketTransport } from './socket-transport.js';
export type { SocketUnfitReason } from './socket-transport.js';
