import { ExpiryHeap } from './expiry-heap.js';
import { LinkedList } from './linked-list.js';
import type { PooledConnection } from './pool-records.js';

/**
 * The idle connections, indexed three ways, each O(1) or O(log n) to keep up:
 *
 * - all of them in the order they became idle (an intrusive list: the head is the one idle
 *   longest, which is all that OkHttp's cleanup asks for, so a pass reads one node);
 * - per address, in the same order (`AddressBucket.idle`: reuse takes the tail, LIFO);
 * - those whose own life is shorter than keepAlive (a server's `Keep-Alive: timeout` hint), by
 *   when they expire (a binary heap; every other idle connection expires in idle order).
 */
export class IdleIndex {
  /** Every idle connection, in the order it became idle: the head is idle longest. */
  readonly #all = new LinkedList<PooledConnection>();
  /** Idle connections whose own life is shorter than keepAlive, earliest expiry first. */
  readonly #shortLived = new ExpiryHeap<PooledConnection>();

  get size(): number {
    return this.#all.size;
  }

  /** The connection idle longest. */
  get oldest(): PooledConnection | undefined {
    return this.#all.head?.value;
  }

  /** The short-lived idle connection that expires first. */
  get firstShortLived(): PooledConnection | undefined {
    return this.#shortLived.peek();
  }

  /**
   * `connection` became idle at `now`; `expiresAt` is when it expires if its own life is
   * shorter than keepAlive (else Infinity: it expires in idle order).
   */
  add(connection: PooledConnection, now: number, expiresAt: number): void {
    connection.idleAt = now;
    this.#all.push(connection.idleNode);
    connection.bucket.idle.push(connection.bucketIdleNode);
    if (expiresAt !== Infinity) {
      connection.expiresAt = expiresAt;
      this.#shortLived.push(connection);
    }
  }

  /** `connection` is idle no more (leased, or closed). */
  remove(connection: PooledConnection): void {
    this.#all.remove(connection.idleNode);
    connection.bucket.idle.remove(connection.bucketIdleNode);
    if (connection.heapIndex >= 0) this.#shortLived.remove(connection);
    connection.expiresAt = Infinity;
  }
}
