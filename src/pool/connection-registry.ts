import type { SchedulerLike } from 'rxjs';
import { AddressResolver, type AddressInput } from './address.js';
import type { MultiplexedOrigins } from './multiplexed-origins.js';
import { AddressBucket, type PooledConnection } from './pool-records.js';

/**
 * How many consecutive connection ids share one `Map`. Closing a connection deletes it from its
 * chunk: in one map of 100k connections that delete misses the CPU caches and writes into one
 * large array (measured: about 7 % of a mass eviction of 10k of 100k); in a chunk of 1024 it does
 * not. A chunk goes once its last connection has.
 */
const IDS_PER_CHUNK = 1024;
/** What a connection id looks like (`c` and a serial number, as `nextId` makes them). */
const ID_PATTERN = /^c[1-9][0-9]{0,15}$/;

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
  /** The connections by id, in chunks of consecutive ids (see {@link IDS_PER_CHUNK}), in id order. */
  readonly #chunks = new Map<number, Map<string, PooledConnection>>();
  #size = 0;
  #nextSerial = 1;
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
    return this.#size;
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

  /** The serial number and id of the next connection. */
  nextId(): { readonly serial: number; readonly id: string } {
    const serial = this.#nextSerial++;
    return { serial, id: `c${serial}` };
  }

  /** A connection whose connect begins. */
  add(connection: PooledConnection): void {
    const bucket = connection.bucket;
    this.adopt(bucket);
    bucket.count++;
    bucket.connecting++;
    const index = Math.floor(connection.serial / IDS_PER_CHUNK);
    let chunk = this.#chunks.get(index);
    if (chunk === undefined) {
      chunk = new Map();
      this.#chunks.set(index, chunk);
    }
    chunk.set(connection.id, connection);
    this.#size++;
  }

  /** A connection that left the pool (closed, or its connect failed). */
  remove(connection: PooledConnection): void {
    const index = Math.floor(connection.serial / IDS_PER_CHUNK);
    const chunk = this.#chunks.get(index);
    if (chunk !== undefined && chunk.delete(connection.id)) {
      this.#size--;
      if (chunk.size === 0) this.#chunks.delete(index);
    }
    connection.bucket.count--;
    connection.bucket.multiplexed.delete(connection);
  }

  get(id: string): PooledConnection | undefined {
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) return undefined;
    return this.#chunks.get(Math.floor(Number(id.slice(1)) / IDS_PER_CHUNK))?.get(id);
  }

  /** Every connection, in the order they were made. */
  *values(): IterableIterator<PooledConnection> {
    for (const chunk of this.#chunks.values()) yield* chunk.values();
  }

  /** Forgets every address (the pool has closed). */
  clear(): void {
    for (const bucket of this.#buckets.values()) bucket.registered = false;
    this.#buckets.clear();
  }
}
