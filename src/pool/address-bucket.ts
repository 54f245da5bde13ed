import type { Address } from './address.js';
import { LinkedList } from './linked-list.js';
import type { PooledConnection } from './pooled-connection.js';
import type { Waiter } from './waiter.js';

/** Everything the pool keeps per address key. */
export class AddressBucket {
  /** Connections of this address, connecting ones included (for `maxConnectionsPerAddress`). */
  count = 0;
  /** Idle connections, oldest first; reuse takes the tail (LIFO). */
  readonly idle = new LinkedList<PooledConnection>();
  /** Multiplexed connections in use that may take more leases (for "least loaded first"). */
  readonly multiplexed = new Set<PooledConnection>();
  /** Acquirers waiting for this address, in arrival order. */
  readonly waiters = new LinkedList<Waiter>();
  /**
   * Acquirers with `coalesce` waiting for a multiplexed connection being made, rather than
   * each making its own (see `AcquireOptions.coalesce`).
   */
  readonly parked = new LinkedList<Waiter>();
  /** Connects in flight for this address. */
  connecting = 0;
  /** The allocation limit of this address's last connection: above 1, the address is multiplexed (HTTP/2). */
  multiplexLimit = 1;

  constructor(readonly address: Address) {}

  get isEmpty(): boolean {
    return this.count === 0 && this.waiters.size === 0 && this.parked.size === 0;
  }

  /** How many acquirers the connects in flight are expected to carry besides their own. */
  get coverage(): number {
    return this.multiplexLimit > 1 ? this.connecting * (this.multiplexLimit - 1) : 0;
  }
}
