import type { ConnectionState } from './connection.machine.js';
import type { Duration } from './duration.js';
import type { RetryReason } from './events.js';

// The public types of `ConnectionPool`'s methods (its options are in options.ts, its events in
// events.ts).

/** One connection as `connections()` reports it. */
export interface ConnectionInfo {
  readonly id: string;
  /** The redacted address. */
  readonly address: string;
  /** What the connection's actor says now. */
  readonly state: ConnectionState;
  readonly allocations: number;
  readonly allocationLimit: number;
  readonly noNewExchanges: boolean;
  /** What the transport's `isHealthy()` says now (true while connecting). */
  readonly healthy: boolean;
  /** When the connect began (scheduler ms). */
  readonly createdAt: number;
  /** When it last became idle, or null while connecting or in use. */
  readonly idleAt: number | null;
  /** The protocol agreed by ALPN (`'h2'`, `'http/1.1'`), when the transport says (see `Transport.alpnProtocol`). */
  readonly alpnProtocol?: string;
  /** The network address the connection reached (an IP), when the transport says (see `Transport.remoteAddress`). */
  readonly remoteAddress?: string;
}

/** A snapshot of the pool, as its connection actors say it is. */
export interface PoolStats {
  readonly state: 'open' | 'closing' | 'closed';
  /** Every connection, connecting ones included. */
  readonly connections: number;
  readonly connecting: number;
  readonly idle: number;
  readonly inUse: number;
  /** Leases held now. */
  readonly leases: number;
  /** Acquirers waiting for a slot. */
  readonly waiters: number;
  /** Addresses with a connection or a waiter. */
  readonly addresses: number;
  readonly cleanup: {
    readonly lastTickAt: number | null;
    readonly lastDelay: number | null;
    /** When the next tick is due, or null while the loop is stopped (nothing to clean). */
    readonly nextTickAt: number | null;
  };
  /** Counts since the pool was made. */
  readonly totals: {
    readonly connects: number;
    readonly connectFailures: number;
    readonly acquired: number;
    readonly reused: number;
    readonly released: number;
    readonly closed: number;
    readonly leaked: number;
    readonly acquireTimeouts: number;
  };
}

/** Options of one `acquire()`. */
export interface AcquireOptions {
  /** Aborting it rejects the acquire (`ERR_ACQUIRE_ABORTED`), while waiting or connecting. */
  readonly signal?: AbortSignal;
  /**
   * `false`: take no idle pooled connection but connect a new one, e.g. to send again a
   * request that failed on a connection the server had closed while it sat idle (its
   * siblings, idle as long, may be closed too). When the connection limits stop it, an idle
   * connection of the same address is closed to make room (reason `capacity`); if there is
   * none it waits in line like any acquirer and may be handed a connection another lease has
   * just released (one that has just served an exchange). Default `true`.
   */
  readonly reuse?: boolean;
  /**
   * `true`: share multiplexed (HTTP/2) connections as much as their limits allow.
   * - When the connection made for this acquirer turns out multiplexed and its address
   *   meanwhile has another multiplexed connection with room, the acquirer takes a lease on
   *   that one and the new connection is closed (reason `coalesced`), as OkHttp does: the
   *   first requests to a new HTTP/2 origin end up on one connection.
   * - When the address is known to be multiplexed (its last connection was, or the pool
   *   remembers it so after its last connection closed: see the pool option
   *   `multiplexedOrigins`) and connects to it are in flight, the acquirer waits for them, up
   *   to what their limit will carry and at most `multiplexedOrigins.maxWait`, rather than
   *   open a connection of its own.
   *
   * Default `false`: each acquirer that finds nothing to reuse opens its own connection.
   */
  readonly coalesce?: boolean;
}

/** What `reportRetry` says about a request sent again. */
export interface RetryReport {
  /** The request's method; anything but an HTTP token is reported as `OTHER`. */
  readonly method: string;
  readonly reason: RetryReason;
}

/** Options of `close()`. */
export interface CloseOptions {
  /** How long to wait for leases before closing them anyway; defaults to the pool's `drainTimeout`. */
  readonly timeout?: Duration;
}
