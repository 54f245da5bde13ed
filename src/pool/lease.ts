import type { ConnectionState } from './connection.machine.js';
import type { Transport } from './transport.js';

/**
 * One use of a pooled connection. Release it when done, or let `using` do it:
 *
 * @example
 * ```ts
 * using lease = await pool.acquire('https://api.example.com');
 * lease.transport; // the connection
 * // released at the end of the block
 * ```
 */
export interface Lease {
  /** A live view of the connection: `state` is what its actor says now, not at acquire time. */
  readonly connection: ConnectionView;
  /** The connection itself. Throws `ERR_LEASE_RELEASED` once the lease is released. */
  readonly transport: Transport;
  /** True once released. */
  readonly released: boolean;
  /** True when the connection had served an earlier lease (as Node's `req.reusedSocket`). */
  readonly reused: boolean;
  /**
   * Says what the lease is for, in words that leak and held-too-long reports repeat
   * (e.g. "GET https://api.example.com/orders: response body not read to the end").
   */
  describe(purpose: string): void;
  /** Gives the connection back. Releasing twice is a no-op. */
  release(): void;
  /**
   * This connection must not be reused (e.g. after a protocol error): it takes no new
   * leases and closes once its last lease is released.
   */
  noNewExchanges(): void;
  [Symbol.dispose](): void;
}

/** A live view of a connection: reading `state` asks its actor now. */
export interface ConnectionView {
  readonly id: string;
  readonly state: ConnectionState;
}
