import type { ConnectionPicker } from './connection-picker.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { DeadlineQueue } from './deadline-queue.js';
import { AcquireAbortedError, AcquireTimeoutError } from './errors.js';
import type { LeaseLedger } from './lease-ledger.js';
import { LinkedList } from './linked-list.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolEventEmitter } from './pool-event-emitter.js';
import type { AddressBucket, PoolTotals, PooledConnection, Waiter } from './pool-records.js';
import type { PoolState } from './pool-state.js';

/**
 * Admission and the waiter queues: an acquirer that found nothing to reuse connects now if the
 * limits let it, or waits in line. Lines are FIFO per address and, across addresses, in
 * arrival order; a freed slot or a connection given back goes to the first in line. Waiting is
 * bounded by `acquireTimeout` (one timer for all: see `DeadlineQueue`) and the acquirer's
 * AbortSignal.
 *
 * `coalesce` acquirers of an address known to be multiplexed are parked instead while connects
 * to it are in flight, up to what those connections will carry (`AddressBucket.coverage`).
 */
export class WaiterQueues {
  readonly #options: ResolvedPoolOptions;
  readonly #state: PoolState;
  readonly #emitter: PoolEventEmitter;
  readonly #totals: PoolTotals;
  readonly #registry: ConnectionRegistry;
  readonly #picker: ConnectionPicker;
  readonly #ledger: LeaseLedger;
  readonly #connect: (waiter: Waiter) => void;
  /** Every waiter, in arrival order (each is also in its address's queue). */
  readonly #waiters = new LinkedList<Waiter>();
  /** Every parked waiter (see `AddressBucket.parked`), in arrival order. */
  readonly #parked = new LinkedList<Waiter>();
  /** Acquirers waiting in line, by acquireTimeout (null when it is Infinity). */
  readonly #deadlines: DeadlineQueue<Waiter> | null;
  /** Parked acquirers, by `multiplexedOrigins.maxWait` (null when it is Infinity). */
  readonly #parkDeadlines: DeadlineQueue<Waiter> | null;
  #serving = false;
  #serveAgain = false;

  /** @param connect - starts a connect for a waiter that has room (see `ConnectAttempts`). */
  constructor(
    options: ResolvedPoolOptions,
    state: PoolState,
    emitter: PoolEventEmitter,
    totals: PoolTotals,
    registry: ConnectionRegistry,
    picker: ConnectionPicker,
    ledger: LeaseLedger,
    connect: (waiter: Waiter) => void,
  ) {
    this.#options = options;
    this.#state = state;
    this.#emitter = emitter;
    this.#totals = totals;
    this.#registry = registry;
    this.#picker = picker;
    this.#ledger = ledger;
    this.#connect = connect;
    const acquireTimeoutMs = options.acquireTimeoutMs;
    this.#deadlines =
      acquireTimeoutMs === Infinity
        ? null
        : new DeadlineQueue<Waiter>(
            options.scheduler,
            (waiter) => waiter.startedAt + acquireTimeoutMs,
            (waiter) => this.#timeOut(waiter),
          );
    const maxWaitMs = options.multiplexedOrigins.maxWaitMs;
    this.#parkDeadlines =
      maxWaitMs === Infinity
        ? null
        : new DeadlineQueue<Waiter>(
            options.scheduler,
            (waiter) => waiter.startedAt + maxWaitMs,
            (waiter) => this.#waitedLongEnough(waiter),
          );
  }

  /** Acquirers waiting in line (not those parked). */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Every acquirer waiting, parked ones included. */
  get size(): number {
    return this.#waiters.size + this.#parked.size;
  }

  /** An acquirer that found nothing to reuse: connect now, make room, or wait in line. */
  admit(waiter: Waiter): void {
    const bucket = waiter.bucket;
    if (waiter.coalesce && waiter.mayPark && bucket.parked.size < bucket.coverage) {
      this.#enqueue(waiter, true);
      return;
    }
    if (bucket.waiters.size === 0 && this.#picker.roomFor(waiter)) {
      this.#connect(waiter);
      return;
    }
    this.#enqueue(waiter);
  }

  /** Stops `waiter`'s timers and its signal listener: it is about to be settled or connect. */
  disarm(waiter: Waiter): void {
    this.#deadlines?.remove(waiter.deadlineNode);
    this.#parkDeadlines?.remove(waiter.parkNode);
    waiter.detachSignal?.();
    waiter.detachSignal = null;
  }

  /** Rejects `waiter` with `error`, once. */
  settle(waiter: Waiter, error: Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.disarm(waiter);
    waiter.reject(error);
  }

  /** Multiplexed connections take more leases: serve this address's waiters (those in line, then the parked ones) while it can. */
  shareWithWaiters(connection: PooledConnection): void {
    const { waiters, parked } = connection.bucket;
    while (waiters.head !== null && connection.allocations < connection.allocationLimit && !connection.noNewExchanges) {
      this.#handOver(waiters.head.value, connection);
    }
    while (parked.head !== null && connection.allocations < connection.allocationLimit && !connection.noNewExchanges) {
      this.#handOver(parked.head.value, connection);
    }
  }

  /**
   * The allocation limit of `connection` went up (an HTTP/2 peer raised
   * MAX_CONCURRENT_STREAMS): waiters of its address may share it now.
   */
  capacityRose(connection: PooledConnection): void {
    if (connection.phase !== 'open' || connection.noNewExchanges) return;
    connection.bucket.multiplexLimit = connection.allocationLimit;
    if (connection.allocations > 0) this.shareWithWaiters(connection);
  }

  /**
   * Parked waiters beyond what the connects in flight will carry (one failed, or turned out
   * not multiplexed, or has no room left) are admitted again: they reuse, connect, or wait
   * in line, their timers still running.
   */
  unparkExcess(bucket: AddressBucket): void {
    while (bucket.parked.size > bucket.coverage && this.#state.isOpen) {
      this.#readmit((bucket.parked.head as NonNullable<typeof bucket.parked.head>).value);
    }
  }

  /** A parked waiter leaves the parked ones: it reuses, connects, or waits in line, its acquireTimeout still running. */
  #readmit(waiter: Waiter): void {
    const bucket = waiter.bucket;
    this.#dequeue(waiter);
    const reusable = this.#picker.takeReusable(bucket);
    if (reusable !== null) {
      this.#handOver(waiter, reusable);
      return;
    }
    if (bucket.waiters.size === 0 && this.#picker.roomFor(waiter)) {
      this.#connect(waiter);
      return;
    }
    this.#line(waiter, false);
  }

  /**
   * A parked waiter has waited `multiplexedOrigins.maxWait` for the connects in flight: the
   * origin may have changed or become slow, so it stops waiting for them and may open its own.
   */
  #waitedLongEnough(waiter: Waiter): void {
    if (waiter.settled || !waiter.parked || !this.#state.isOpen) return;
    waiter.mayPark = false;
    this.#readmit(waiter);
  }

  /**
   * Serves waiters after a slot was freed or a connection became idle: the first waiter of
   * each address, in arrival order, reuses, connects, or takes the room of an idle
   * connection of another address when it has nothing of its own to wait for.
   */
  serve(): void {
    if (this.#serving) {
      this.#serveAgain = true;
      return;
    }
    this.#serving = true;
    try {
      do {
        this.#serveAgain = false;
        for (let node = this.#waiters.head; node !== null && this.#state.isOpen; ) {
          const waiter = node.value;
          const next = node.next;
          const bucket = waiter.bucket;
          if (bucket.waiters.head !== waiter.bucketNode) {
            node = next;
            continue;
          }
          const reusable = waiter.fresh ? null : this.#picker.takeReusable(bucket);
          if (reusable !== null) {
            this.#handOver(waiter, reusable);
            this.shareWithWaiters(reusable);
            node = this.#waiters.head;
            continue;
          }
          if (this.#picker.roomFor(waiter)) {
            this.#dequeue(waiter);
            this.#connect(waiter);
            node = this.#waiters.head;
            continue;
          }
          node = next;
        }
      } while (this.#serveAgain);
    } finally {
      this.#serving = false;
    }
  }

  /** Rejects every waiter, parked ones included, with `error()` (the pool is closing). */
  rejectAll(error: () => Error): void {
    for (const list of [this.#waiters, this.#parked]) {
      while (list.head) {
        const waiter = list.head.value;
        this.#dequeue(waiter);
        this.settle(waiter, error());
        this.#registry.forgetIfEmpty(waiter.bucket);
      }
    }
  }

  /** Stops the timers (the pool has closed). */
  dispose(): void {
    this.#deadlines?.dispose();
    this.#parkDeadlines?.dispose();
  }

  /** Puts `waiter` in line (or, `parked`, with those waiting for a connect in flight), with its timer and signal armed. */
  #enqueue(waiter: Waiter, parked = false): void {
    this.#registry.adopt(waiter.bucket);
    this.#line(waiter, parked);
    this.#deadlines?.add(waiter.deadlineNode);
    if (parked) this.#parkDeadlines?.add(waiter.parkNode);
    const signal = waiter.signal;
    if (signal !== undefined) {
      const onAbort = (): void => {
        if (waiter.settled) return;
        this.#dequeue(waiter);
        this.settle(waiter, new AcquireAbortedError(String(waiter.bucket.address), signal.reason));
        this.#registry.forgetIfEmpty(waiter.bucket);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  #line(waiter: Waiter, parked: boolean): void {
    waiter.parked = parked;
    (parked ? waiter.bucket.parked : waiter.bucket.waiters).push(waiter.bucketNode);
    (parked ? this.#parked : this.#waiters).push(waiter.poolNode);
  }

  #dequeue(waiter: Waiter): void {
    const parked = waiter.parked;
    if (parked) this.#parkDeadlines?.remove(waiter.parkNode);
    (parked ? waiter.bucket.parked : waiter.bucket.waiters).remove(waiter.bucketNode);
    (parked ? this.#parked : this.#waiters).remove(waiter.poolNode);
    waiter.parked = false;
  }

  /** Gives `connection` (which can take a lease) to `waiter`. */
  #handOver(waiter: Waiter, connection: PooledConnection): void {
    this.#dequeue(waiter);
    waiter.settled = true;
    this.disarm(waiter);
    waiter.resolve(this.#ledger.lend(connection, true, waiter.startedAt, waiter.stack, this.#options.scheduler.now()));
  }

  #timeOut(waiter: Waiter): void {
    if (waiter.settled) return;
    const parked = waiter.parked;
    this.#dequeue(waiter);
    this.#totals.acquireTimeouts++;
    const bucket = waiter.bucket;
    const perAddress = this.#options.maxConnectionsPerAddress;
    const detail = parked
      ? 'the multiplexed connection being made for it did not come'
      : bucket.count >= perAddress
        ? `all ${bucket.count} connections allowed by maxConnectionsPerAddress are in use`
        : `the pool holds maxConnections=${this.#options.maxConnections} connections, all in use`;
    if (this.#emitter.wants('acquire-timeout')) {
      const now = this.#options.scheduler.now();
      this.#emitter.emit({ type: 'acquire-timeout', at: now, address: String(bucket.address), waitedMs: now - waiter.startedAt });
    }
    this.settle(waiter, new AcquireTimeoutError(String(bucket.address), this.#options.acquireTimeoutMs, detail));
    this.#registry.forgetIfEmpty(bucket);
  }
}
