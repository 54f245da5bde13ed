import type { SchedulerLike } from 'rxjs';
import type { Address } from './address.js';

/**
 * A live connection as the pool sees it. The transport layer (`src/transport`) makes
 * TCP, TLS and HTTP/2 ones; tests make fakes. The pool never reads or writes bytes.
 */
export interface Transport {
  /**
   * Closes the connection. The pool calls it exactly once, when it evicts the
   * connection; it must be idempotent all the same, and should not throw.
   */
  close(): void;
  /**
   * How many leases may share this connection at once: 1 for HTTP/1.1 (the default),
   * the peer's SETTINGS_MAX_CONCURRENT_STREAMS for HTTP/2. Read on every reuse, so a
   * transport may change it while it lives (call `hooks.capacityChanged()` of its
   * {@link ConnectContext}, or `pool.notifyCapacityChanged(id)`, after raising it).
   */
  readonly allocationLimit?: number;
  /**
   * The longest this connection may stay idle (ms), when the peer allows less than the
   * pool's `keepAlive`: e.g. a server's `Keep-Alive: timeout=N` hint less a safety margin.
   * Read each time the connection becomes idle; 0 or less closes it instead of pooling it
   * (reason `keep-alive-expired`). Undefined: the pool's `keepAlive` applies.
   */
  readonly idleTimeout?: number;
  /**
   * The network address the connection reached (an IP, as Node's `socket.remoteAddress`),
   * when the transport knows it (keep it once connected: Node forgets a socket's address when
   * it closes): shown in `connections()` and the `connect-end` event, e.g. to see how
   * connections spread over the backends a name resolves to.
   */
  readonly remoteAddress?: string;
  /**
   * The application protocol agreed by TLS ALPN (`'h2'`, `'http/1.1'`), when there is one:
   * shown as `alpnProtocol` in `connections()` and in the `connect-end` event, for metrics
   * that tell HTTP/2 connections from HTTP/1.1 ones. Absent or null: nothing was negotiated.
   */
  readonly alpnProtocol?: string | null;
  /** Checked before every reuse; `false` evicts the connection with reason `unhealthy`. */
  isHealthy?(): boolean;
  /**
   * A transport that can close by itself (the peer hung up, an error) reports it with a
   * `'close'` event; the pool then evicts it with reason `peer-closed`.
   */
  on?(event: 'close', listener: () => void): unknown;
  /** Removes a listener added with `on`; called when the pool is done with the transport. */
  off?(event: 'close', listener: () => void): unknown;
}

/**
 * What a transport may tell the pool about its own connection, for as long as it lives: the
 * changes that only the transport sees (an HTTP/2 peer's SETTINGS, GOAWAY or silence). The
 * pool hands one to the connector with each connect; calls after the connection has left
 * the pool are ignored.
 */
export interface ConnectionHooks {
  /**
   * The transport's `allocationLimit` went up (an HTTP/2 peer raised MAX_CONCURRENT_STREAMS):
   * acquirers waiting for its address may share it now. A limit that goes down needs no
   * call: the pool reads the limit before every lease.
   */
  capacityChanged(): void;
  /**
   * The connection must take no new lease (an HTTP/2 GOAWAY, a PING left unanswered): leases
   * in flight finish, then it closes with this reason (default `'no-new-exchanges'`).
   */
  noNewExchanges(reason?: 'no-new-exchanges' | 'unhealthy'): void;
}

/**
 * What the pool passes to a {@link Connector} with each connect. The pool always passes every
 * field; only `signal` is required so that a connector can also be called directly.
 */
export interface ConnectContext {
  /** Aborted on `connectTimeout`, when the acquirer gives up, or when the pool closes. */
  readonly signal: AbortSignal;
  /** The id the pool gives the connection being made (as in its events and `connections()`). */
  readonly connectionId?: string;
  /**
   * The pool's clock and timer: a transport that keeps time (an HTTP/2 PING's deadline)
   * uses it, so that it runs in the same (possibly virtual) time as the pool.
   */
  readonly scheduler?: SchedulerLike;
  /** For the transport to report what it learns of its connection while it lives. */
  readonly hooks?: ConnectionHooks;
}

/**
 * Makes new connections for the pool. The default connector (TCP/TLS) lives in
 * `src/transport`; tests pass their own.
 *
 * @example
 * ```ts
 * const connector: Connector = {
 *   async connect(address, { signal }) {
 *     const socket = net.connect({ host: address.host, port: address.port, signal });
 *     await once(socket, 'connect');
 *     return { close: () => socket.destroy(), on: (e, l) => socket.on(e, l) };
 *   },
 * };
 * ```
 */
export interface Connector {
  connect(address: Address, context: ConnectContext): Promise<Transport>;
}
