import { LeaseReleasedError } from './errors.js';
import type { ConnectionView, Lease } from './lease.js';
import type { LeaseHolder, PooledConnection } from './pool-records.js';
import type { Transport } from './transport.js';

/** What a lease needs from its pool (the pool's `LeaseLedger`). */
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
