/**
 * The transport layer: the default TCP/TLS connector and the socket transports it makes.
 * It depends on the pool engine (`src/pool`) and nothing above it.
 */
export { ConnectError, ProxyTunnelError } from './errors.js';
export type { ProxyTunnelErrorCode } from './errors.js';
export { NetConnector, createNetConnector } from './net-connector.js';
export type { NetConnectorOptions } from './net-connector.js';
export { SocketTransport } from './socket-transport.js';
export type { SocketUnfitReason } from './socket-transport.js';
