import type { Subscription } from 'rxjs';
import type { CleanupLoop } from './cleanup-loop.js';
import type { ConnectionActors } from './connection-actors.js';
import type { ConnectionCloser } from './connection-closer.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { parseDuration, type Duration } from './duration.js';
import { PoolClosedError } from './errors.js';
import type { LeaseLedger } from './lease-ledger.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolEventEmitter } from './pool-event-emitter.js';
import type { PoolState } from './pool-state.js';
import type { WaiterQueues } from './waiter-queues.js';

/**
 * Closing the pool: refuse new acquires, reject waiters, abort connects in flight, close idle
 * connections, wait for leases up to the drain timeout and then close them anyway; once
 * nothing is left open, stop every timer and the loop, complete `events$`.
 */
export class PoolDrain {
  readonly #options: ResolvedPoolOptions;
  readonly #state: PoolState;
  readonly #emitter: PoolEventEmitter;
  readonly #registry: ConnectionRegistry;
  readonly #actors: ConnectionActors;
  readonly #closer: ConnectionCloser;
  readonly #ledger: LeaseLedger;
  readonly #waiters: WaiterQueues;
  readonly #loop: CleanupLoop;
  #closed: Promise<void> | null = null;
  #finishClose: (() => void) | null = null;
  #drainTimer: Subscription | null = null;
  #forcedOnClose = 0;

  constructor(
    options: ResolvedPoolOptions,
    state: PoolState,
    emitter: PoolEventEmitter,
    registry: ConnectionRegistry,
    actors: ConnectionActors,
    closer: ConnectionCloser,
    ledger: LeaseLedger,
    waiters: WaiterQueues,
    loop: CleanupLoop,
  ) {
    this.#options = options;
    this.#state = state;
    this.#emitter = emitter;
    this.#registry = registry;
    this.#actors = actors;
    this.#closer = closer;
    this.#ledger = ledger;
    this.#waiters = waiters;
    this.#loop = loop;
  }

  /** `pool.close()`: see there. Calling it again returns the same promise. */
  close(timeout: Duration | undefined): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    let drainMs: number;
    try {
      drainMs = timeout === undefined ? this.#options.drainTimeoutMs : parseDuration('timeout', timeout, true);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#state.value = 'closing';
    this.#closed = new Promise<void>((resolve) => {
      this.#finishClose = resolve;
    });
    if (this.#emitter.wants('pool-closing')) {
      this.#emitter.emit({ type: 'pool-closing', at: this.#options.scheduler.now(), leases: this.#ledger.count });
    }
    this.#waiters.rejectAll(() => new PoolClosedError('it closed while this acquire was waiting'));
    for (const connection of [...this.#registry.values()]) {
      if (connection.phase === 'connecting') connection.connectAbort?.abort(new PoolClosedError('it closed during this connect'));
      else if (connection.allocations === 0) this.#closer.close(connection, 'pool-closed', false);
    }
    if (this.#registry.size > 0 && drainMs !== Infinity) {
      this.#drainTimer = this.#options.scheduler.schedule(() => this.#forceClose(), drainMs);
    }
    this.checkDrained();
    return this.#closed;
  }

  /** Finishes closing if the pool is closing and nothing is left open. */
  checkDrained(): void {
    if (this.#state.value !== 'closing' || this.#registry.size > 0) return;
    this.#state.value = 'closed';
    this.#drainTimer?.unsubscribe();
    this.#drainTimer = null;
    this.#loop.dispose();
    this.#ledger.dispose();
    this.#waiters.dispose();
    this.#actors.flush();
    if (this.#emitter.wants('pool-closed')) {
      this.#emitter.emit({ type: 'pool-closed', at: this.#options.scheduler.now(), forced: this.#forcedOnClose });
    }
    this.#emitter.complete();
    this.#actors.stop();
    this.#registry.clear();
    this.#finishClose?.();
  }

  #forceClose(): void {
    this.#drainTimer = null;
    for (const connection of [...this.#registry.values()]) {
      if (connection.phase === 'open') {
        this.#forcedOnClose++;
        this.#closer.close(connection, 'pool-closed', false);
      }
    }
    this.checkDrained();
  }
}
