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

  constructor(readonly address: Address) {}

  get isEmpty(): boolean {
    return this.count === 0 && this.waiters.size === 0;
  }
}
