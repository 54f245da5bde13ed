import { LeaseReleasedError } from './errors.js';
import { ListNode } from './linked-list.js';
import type { ConnectionView, PooledConnection } from './pooled-connection.js';
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

/**
 * What the registry remembers of one lease, kept apart from the lease so that it does not
 * keep the lease alive: which connection, since when, and from where.
 */
export class LeaseSlot {
  /** True while a lease holds this slot's holder. */
  live = false;
  acquiredAt = 0;
  stack: string | undefined = undefined;
  /** What the lease is for (see `Lease.describe`). */
  purpose: string | undefined = undefined;
  /** Place in the held-too-long watch list, in acquire order. */
  readonly watchNode: ListNode<LeaseSlot>;

  constructor(readonly connection: PooledConnection) {
    this.watchNode = new ListNode<LeaseSlot>(this);
  }
}

/**
 * The object a lease holds and the FinalizationRegistry watches. Holders are registered once
 * and reused: a lease drops its holder on release and the connection keeps it for the next
 * lease, so a holder becomes garbage only when a lease holding it does: a leak. That makes
 * leak detection free per acquire (registering each lease costs 200-300 ns).
 */
export class LeaseHolder {
  constructor(readonly slot: LeaseSlot) {}
}

/** What a lease needs from its pool. */
export interface LeaseOwner {
  releaseLease(lease: PoolLease, holder: LeaseHolder): void;
  markNoNewExchanges(connection: PooledConnection): void;
  viewOf(connection: PooledConnection): ConnectionView;
}

/** The pool's {@link Lease}. */
export class PoolLease implements Lease {
  #holder: LeaseHolder | null;
  readonly #connection: PooledConnection;
  readonly #owner: LeaseOwner;

  readonly reused: boolean;

  constructor(owner: LeaseOwner, connection: PooledConnection, holder: LeaseHolder, reused: boolean) {
    this.#owner = owner;
    this.#connection = connection;
    this.#holder = holder;
    this.reused = reused;
  }

  describe(purpose: string): void {
    if (this.#holder !== null) this.#holder.slot.purpose = purpose;
  }

  get connection(): ConnectionView {
    return this.#owner.viewOf(this.#connection);
  }

  get transport(): Transport {
    const transport = this.#connection.transport;
    if (this.#holder === null || transport === null) throw new LeaseReleasedError(this.#connection.id);
    return transport;
  }

  get released(): boolean {
    return this.#holder === null;
  }

  release(): void {
    const holder = this.#holder;
    if (holder === null) return;
    this.#holder = null;
    this.#owner.releaseLease(this, holder);
  }

  noNewExchanges(): void {
    if (this.#holder !== null) this.#owner.markNoNewExchanges(this.#connection);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * The connection of `lease` if it is a lease of `owner`'s pool (released or not), else
   * undefined. For the pool's own use (reports about a lease, such as a retry).
   */
  static connectionOf(lease: unknown, owner: LeaseOwner): PooledConnection | undefined {
    return lease instanceof PoolLease && lease.#owner === owner ? lease.#connection : undefined;
  }
}
