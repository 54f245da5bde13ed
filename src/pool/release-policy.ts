import type { CleanupLoop } from './cleanup-loop.js';
import type { ConnectionActors } from './connection-actors.js';
import type { ConnectionCloser } from './connection-closer.js';
import type { ConnectionPicker } from './connection-picker.js';
import type { IdleIndex } from './idle-index.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PooledConnection } from './pool-records.js';
import type { PoolState } from './pool-state.js';
import type { WaiterQueues } from './waiter-queues.js';

/**
 * What becomes of a connection when a lease on it is released: it closes (the pool is closing,
 * it was marked noNewExchanges, it is past its maxLifetime, the idle limit is 0, the server
 * allows it no idle time), goes
 * to the next waiter of its address, or joins the idle index, restarting the cleanup loop if
 * it stopped or running it now if this connection is due before the next tick.
 */
export class ReleasePolicy {
  readonly #options: ResolvedPoolOptions;
  readonly #state: PoolState;
  readonly #idle: IdleIndex;
  readonly #actors: ConnectionActors;
  readonly #closer: ConnectionCloser;
  readonly #picker: ConnectionPicker;
  readonly #waiters: WaiterQueues;
  readonly #loop: CleanupLoop;

  constructor(
    options: ResolvedPoolOptions,
    state: PoolState,
    idle: IdleIndex,
    actors: ConnectionActors,
    closer: ConnectionCloser,
    picker: ConnectionPicker,
    waiters: WaiterQueues,
    loop: CleanupLoop,
  ) {
    this.#options = options;
    this.#state = state;
    this.#idle = idle;
    this.#actors = actors;
    this.#closer = closer;
    this.#picker = picker;
    this.#waiters = waiters;
    this.#loop = loop;
  }

  /** A lease on the open `connection` was released (its allocations already counted down). */
  released(connection: PooledConnection): void {
    if (!this.#state.isOpen) {
      if (connection.allocations === 0) this.#closer.close(connection, 'pool-closed');
      return;
    }
    if (connection.noNewExchanges) {
      if (connection.allocations === 0) this.#closer.close(connection, connection.drainReason);
      else this.#actors.touch(connection);
      return;
    }
    if (connection.retireAt !== Infinity && connection.retireAt <= this.#options.scheduler.now()) {
      // Past its maxLifetime, and the loop has not retired it yet (a late timer).
      this.#closer.retire(connection);
      return;
    }
    const bucket = connection.bucket;
    if (bucket.waiters.size > 0 || bucket.parked.size > 0) {
      if (!this.#picker.isHealthy(connection)) {
        this.#closer.markNoNewExchanges(connection, 'unhealthy');
        return;
      }
      this.#waiters.shareWithWaiters(connection);
    }
    if (connection.allocations > 0) {
      this.#actors.touch(connection);
      return;
    }
    bucket.multiplexed.delete(connection);
    if (this.#options.maxIdleConnections === 0) {
      this.#closer.close(connection, 'idle-limit');
      return;
    }
    const now = this.#options.scheduler.now();
    const keepAlive = this.#options.keepAliveMs;
    const life = connection.transport?.idleTimeout;
    if (life !== undefined && !(life > 0)) {
      this.#closer.close(connection, 'keep-alive-expired');
      return;
    }
    const shortLived = life !== undefined && life < keepAlive;
    this.#idle.add(connection, now, shortLived ? now + life : Infinity);
    this.#actors.touch(connection);
    // Another address may be waiting for room that only this idle connection can give.
    if (this.#waiters.waiting > 0) this.#waiters.serve();
    // Restart the loop if it stopped; run it now if the idle limit is exceeded or this
    // connection expires before the next tick.
    const due = this.#loop.nextTickAt;
    const expiresAt = shortLived ? now + life : now + keepAlive;
    if (due === undefined || this.#idle.size > this.#options.maxIdleConnections || expiresAt < due) {
      this.#loop.wake();
    }
  }
}
