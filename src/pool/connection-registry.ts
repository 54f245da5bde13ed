import type { SchedulerLike } from 'rxjs';
import { AddressResolver, type AddressInput } from './address.js';
import type { MultiplexedOrigins } from './multiplexed-origins.js';
import { AddressBucket, type PooledConnection } from './pool-records.js';

/**
 * Every connection of the pool, by id, and every address it has something for (a connection
 * or a waiter), by address key. A connection counts here (and against the limits) from the
 * moment its connect begins until it is closed or its connect fails.
 */
export class ConnectionRegistry {
  readonly #scheduler: SchedulerLike;
  readonly #origins: MultiplexedOrigins;
  readonly #resolver = new AddressResolver();
  readonly #buckets = new Map<string, AddressBucket>();
  readonly #connections = new Map<string, PooledConnection>();
  #nextId = 1;
  /** The last URL string resolved, and its bucket (see bucketFor). */
  #lastUrl: string | null = null;
  #lastBucket: AddressBucket | null = null;

  /** @param origins - what the pool remembers of multiplexed origins: a new bucket starts from it. */
  constructor(scheduler: SchedulerLike, origins: MultiplexedOrigins) {
    this.#scheduler = scheduler;
    this.#origins = origins;
  }

  /** Connections, connecting ones included. */
  get size(): number {
    return this.#connections.size;
  }

  /** Addresses with a connection or a waiter. */
  get addressCount(): number {
    return this.#buckets.size;
  }

  /**
   * The bucket of `input`'s address key, made if it has none.
   *
   * @throws InvalidAddressError (`ERR_INVALID_ADDRESS`) for an address the pool cannot use.
   */
  bucketFor(input: AddressInput): AddressBucket {
    // The same URL string as last time (a client talking to one origin, the common case) skips
    // two Map lookups, as long as that bucket is still the address's. Strings only: a URL or an
    // options object can be changed in place, a string cannot.
    if (input === this.#lastUrl && this.#lastBucket !== null && this.#lastBucket.registered) return this.#lastBucket;
    const address = this.#resolver.resolve(input);
    let bucket = this.#buckets.get(address.key);
    if (bucket === undefined) {
      bucket = new AddressBucket(address);
      bucket.multiplexLimit = this.#origins.limitOf(address.key, this.#scheduler.now());
      this.#buckets.set(address.key, bucket);
      bucket.registered = true;
    }
    if (typeof input === 'string') {
      this.#lastUrl = input;
      this.#lastBucket = bucket;
    }
    return bucket;
  }

  /**
   * Puts `bucket` back in the map if it was forgotten while its acquirer was still using it
   * (evicting the address's last, unhealthy connection empties the bucket mid-acquire).
   */
  adopt(bucket: AddressBucket): void {
    if (!this.#buckets.has(bucket.address.key)) {
      this.#buckets.set(bucket.address.key, bucket);
      bucket.registered = true;
    }
  }

  /** Forgets `bucket` once it has neither a connection nor a waiter. */
  forgetIfEmpty(bucket: AddressBucket): void {
    if (bucket.isEmpty && this.#buckets.get(bucket.address.key) === bucket) {
      this.#buckets.delete(bucket.address.key);
      bucket.registered = false;
    }
  }

  /** The id for the next connection. */
  nextId(): string {
    return `c${this.#nextId++}`;
  }

  /** A connection whose connect begins. */
  add(connection: PooledConnection): void {
    const bucket = connection.bucket;
    this.adopt(bucket);
    bucket.count++;
    bucket.connecting++;
    this.#connections.set(connection.id, connection);
  }

  /** A connection that left the pool (closed, or its connect failed). */
  remove(connection: PooledConnection): void {
    this.#connections.delete(connection.id);
    connection.bucket.count--;
    connection.bucket.multiplexed.delete(connection);
  }

  get(id: string): PooledConnection | undefined {
    return this.#connections.get(id);
  }

  values(): IterableIterator<PooledConnection> {
    return this.#connections.values();
  }

  /** Forgets every address (the pool has closed). */
  clear(): void {
    for (const bucket of this.#buckets.values()) bucket.registered = false;
    this.#buckets.clear();
  }
}
