import type { CallbackFailures } from './callback-failures.js';
import { ExpiryHeap, type HeapEntry } from './expiry-heap.js';
import type { PooledConnection } from './pool-records.js';

/** The largest share of `maxLifetime` taken off a connection's lifetime at random (HikariCP's 2.5 %). */
export const LIFETIME_JITTER = 0.025;

/** A connection's place in the lifetime heap (made only when `maxLifetime` is finite). */
class LifetimeEntry implements HeapEntry {
  heapIndex = -1;

  constructor(
    readonly connection: PooledConnection,
    /** When the connection is to retire (its `retireAt`). */
    readonly expiresAt: number,
  ) {}
}

/**
 * The open connections that `maxLifetime` will retire, earliest first: a binary heap, so that
 * adding and removing cost O(log n) and the cleanup pass reads the next lifetime end at the top,
 * with no scan. Each connection's lifetime is `maxLifetime` less a random jitter of up to
 * {@link LIFETIME_JITTER} of it. A connection leaves the heap when it is retired, marked
 * noNewExchanges, or closed.
 */
export class LifetimeIndex {
  readonly #heap = new ExpiryHeap<LifetimeEntry>();
  readonly #maxLifetimeMs: number;
  readonly #random: () => number;
  readonly #failures: CallbackFailures;

  /** @param failures - where a `random` that throws is reported. */
  constructor(maxLifetimeMs: number, random: () => number, failures: CallbackFailures) {
    this.#maxLifetimeMs = maxLifetimeMs;
    this.#random = random;
    this.#failures = failures;
  }

  /** The connection to retire first. */
  get first(): PooledConnection | undefined {
    return this.#heap.peek()?.connection;
  }

  get size(): number {
    return this.#heap.size;
  }

  /**
   * `connection` joined the pool at `now`: sets its `retireAt` and, if it has one, indexes it.
   * Returns its `retireAt` (Infinity without `maxLifetime`).
   */
  add(connection: PooledConnection, now: number): number {
    const lifetime = this.#maxLifetimeMs;
    if (lifetime === Infinity) return Infinity;
    // Whole milliseconds, rounded up: never later than the lifetime, never earlier than its jitter allows.
    const retireAt = Math.ceil(now + lifetime - LIFETIME_JITTER * lifetime * this.#draw());
    const entry = new LifetimeEntry(connection, retireAt);
    connection.retireAt = retireAt;
    connection.lifetimeEntry = entry;
    this.#heap.push(entry);
    return retireAt;
  }

  /** `connection` needs retiring no more (it was retired, marked, or closed). */
  remove(connection: PooledConnection): void {
    const entry = connection.lifetimeEntry as LifetimeEntry | null;
    if (entry === null) return;
    connection.lifetimeEntry = null;
    this.#heap.remove(entry);
  }

  /** A number in [0, 1) from the pool's `random` (0 if it throws or returns anything else: no jitter). */
  #draw(): number {
    let value: unknown;
    try {
      value = this.#random();
    } catch (error) {
      this.#failures.report('random option', error);
      return 0;
    }
    return typeof value === 'number' && value >= 0 && value < 1 ? value : 0;
  }
}
