import type { ConnectionCloser } from './connection-closer.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { IdleIndex } from './idle-index.js';
import type { ResolvedPoolOptions } from './options.js';
import type { AddressBucket, PooledConnection, Waiter } from './pool-records.js';

/**
 * The pick-or-create policy: which pooled connection an acquirer gets (the most recently idle
 * one of its address, else the least loaded multiplexed one with room; never an unhealthy one,
 * which is closed on sight), and whether it may open a new one under the connection limits,
 * closing an idle connection to make room when that is the only way.
 */
export class ConnectionPicker {
  readonly #options: ResolvedPoolOptions;
  readonly #registry: ConnectionRegistry;
  readonly #idle: IdleIndex;
  readonly #closer: ConnectionCloser;

  constructor(options: ResolvedPoolOptions, registry: ConnectionRegistry, idle: IdleIndex, closer: ConnectionCloser) {
    this.#options = options;
    this.#registry = registry;
    this.#idle = idle;
    this.#closer = closer;
  }

  /**
   * A pooled connection of `bucket` that can take a lease now, or null. Closes unhealthy ones
   * it meets. Of the idle ones it takes the one idle least (LIFO), or with `oldestFirst` the
   * one idle longest.
   */
  takeReusable(bucket: AddressBucket, oldestFirst = false): PooledConnection | null {
    for (let node = oldestFirst ? bucket.idle.head : bucket.idle.tail; node !== null; node = oldestFirst ? bucket.idle.head : bucket.idle.tail) {
      const connection = node.value;
      if (this.#overAge(connection)) this.#closer.retire(connection);
      else if (this.isHealthy(connection)) return connection;
      else this.#closer.close(connection, 'unhealthy');
    }
    while (bucket.multiplexed.size > 0) {
      let best: PooledConnection | null = null;
      for (const connection of bucket.multiplexed) {
        if (
          !connection.noNewExchanges &&
          connection.allocations < connection.allocationLimit &&
          (best === null || connection.allocations < best.allocations)
        ) {
          best = connection;
        }
      }
      if (best === null) return null;
      if (this.#overAge(best)) this.#closer.retire(best);
      else if (this.isHealthy(best)) return best;
      else this.#closer.close(best, 'unhealthy');
    }
    return null;
  }

  /**
   * Whether `connection` is past its `maxLifetime` though the cleanup loop has not retired it
   * yet (its timer is late: a busy event loop). It must not take a new exchange all the same.
   */
  #overAge(connection: PooledConnection): boolean {
    return connection.retireAt !== Infinity && connection.retireAt <= this.#options.scheduler.now();
  }

  /** What the transport's `isHealthy()` says (true while connecting, or if it has none; false if it throws). */
  isHealthy(connection: PooledConnection): boolean {
    const transport = connection.transport;
    if (transport === null || transport.isHealthy === undefined) return true;
    try {
      return transport.isHealthy() !== false;
    } catch {
      return false;
    }
  }

  /**
   * Another multiplexed connection of `connection`'s address that can take a lease now: an
   * idle one, else the least loaded one in use. Null if there is none (unhealthy ones are
   * left for the next acquire to deal with).
   */
  coalesceTarget(connection: PooledConnection): PooledConnection | null {
    const bucket = connection.bucket;
    for (let node = bucket.idle.tail; node !== null; node = node.prev) {
      const idle = node.value;
      if (idle.allocationLimit > 1 && this.isHealthy(idle)) return idle;
    }
    let best: PooledConnection | null = null;
    for (const candidate of bucket.multiplexed) {
      if (
        candidate !== connection &&
        !candidate.noNewExchanges &&
        candidate.allocations < candidate.allocationLimit &&
        (best === null || candidate.allocations < best.allocations) &&
        this.isHealthy(candidate)
      ) {
        best = candidate;
      }
    }
    return best;
  }

  /** Whether `waiter` may connect now, making room if it can. */
  roomFor(waiter: Waiter): boolean {
    const bucket = waiter.bucket;
    return this.canOpen(bucket) || this.#makeRoomFor(bucket) || (waiter.fresh && this.#makeRoomInOwnBucket(bucket));
  }

  /** Whether the limits let `bucket` open another connection now. */
  canOpen(bucket: AddressBucket): boolean {
    return bucket.count < this.#options.maxConnectionsPerAddress && this.#registry.size < this.#options.maxConnections;
  }

  /**
   * When only the total cap stops `bucket` and it has no connection of its own to wait
   * for, closes the connection idle longest (of another address) to make room.
   */
  #makeRoomFor(bucket: AddressBucket): boolean {
    if (bucket.count !== 0 || bucket.count >= this.#options.maxConnectionsPerAddress) return false;
    const victim = this.#idle.oldest;
    if (victim === undefined) return false;
    this.#closer.close(victim, 'capacity', false);
    return this.canOpen(bucket);
  }

  /**
   * For an acquirer that wants a new connection (`reuse: false`): closes the connection of
   * its own address idle longest, if it has one, so that it can connect.
   */
  #makeRoomInOwnBucket(bucket: AddressBucket): boolean {
    const victim = bucket.idle.head?.value;
    if (victim === undefined) return false;
    this.#closer.close(victim, 'capacity', false);
    return this.canOpen(bucket);
  }
}
