import type { Subscription } from 'rxjs';
import type { ConnectionPool, PoolEvent } from '../pool/index.js';
import { toSafeError, type SafeError } from './pool-event.serializer.js';

/** How connects to one address have gone lately. */
export interface AddressConnectRecord {
  /** The redacted address. */
  readonly address: string;
  /** Failures since the last connect that succeeded (or since tracking began). */
  readonly consecutiveFailures: number;
  /** When the last connect failed (scheduler ms), or null. */
  readonly lastFailureAt: number | null;
  /** When the last connect succeeded (scheduler ms), or null. */
  readonly lastSuccessAt: number | null;
  /** Why the last connect failed, safe to show. */
  readonly lastError: SafeError | null;
}

/** Options of {@link ConnectionPoolActivity}. */
export interface ConnectionPoolActivityOptions {
  /** Addresses remembered at most; the least recently active are forgotten first. Default 1024. */
  readonly maxTrackedAddresses?: number;
  /** Timestamps kept per kind of incident (leaks, acquire-timeout rises). Default 64. */
  readonly maxIncidents?: number;
}

interface MutableRecord {
  address: string;
  consecutiveFailures: number;
  lastFailureAt: number | null;
  lastSuccessAt: number | null;
  lastError: SafeError | null;
}

/** A rise of `totals.acquireTimeouts` between two samples. */
interface Rise {
  /** The sample before the rise: the timeouts happened after it. */
  readonly since: number;
  readonly count: number;
}

/**
 * What a pool has been through lately, for readiness: per-address connect outcomes, leaks,
 * leases held too long and acquire timeouts, each with when it happened on the pool's own
 * clock (`pool.options.scheduler.now()`), so that a health check can ask "in the last N ms".
 *
 * It subscribes to `pool.events$` when made (from the pool's first event on, when the module
 * makes it with the pool) and stops when the pool closes or on {@link dispose}. Memory is
 * bounded whatever happens: O(1) per address, at most `maxTrackedAddresses` addresses, at
 * most `maxIncidents` timestamps per kind.
 */
export class ConnectionPoolActivity {
  readonly #pool: ConnectionPool;
  readonly #addresses = new Map<string, MutableRecord>();
  readonly #leaks: number[] = [];
  readonly #heldTooLong: number[] = [];
  readonly #timeoutRises: Rise[] = [];
  readonly #maxAddresses: number;
  readonly #maxIncidents: number;
  readonly #subscription: Subscription;
  #lastTimeoutSample: { at: number; count: number };

  constructor(pool: ConnectionPool, options: ConnectionPoolActivityOptions = {}) {
    this.#pool = pool;
    this.#maxAddresses = options.maxTrackedAddresses ?? 1024;
    this.#maxIncidents = options.maxIncidents ?? 64;
    this.#lastTimeoutSample = { at: pool.options.scheduler.now(), count: pool.stats().totals.acquireTimeouts };
    this.#subscription = pool.events$.subscribe((event) => this.#record(event));
  }

  /**
   * Addresses whose connects have all failed lately: the last connect failed within
   * `windowMs` of `now`, after at least `minFailures` failures in a row. A success ends the
   * run, and a failure older than the window no longer counts (nothing has tried since).
   */
  failingAddresses(now: number, windowMs: number, minFailures = 1): AddressConnectRecord[] {
    const failing: AddressConnectRecord[] = [];
    for (const record of this.#addresses.values()) {
      if (
        record.consecutiveFailures >= minFailures &&
        record.lastFailureAt !== null &&
        record.lastFailureAt >= now - windowMs
      ) {
        failing.push({ ...record });
      }
    }
    return failing;
  }

  /** The connect record of one address, if it is remembered. */
  address(address: string): AddressConnectRecord | undefined {
    const record = this.#addresses.get(address);
    return record === undefined ? undefined : { ...record };
  }

  /** Leases garbage-collected without release (`connection-leaked`) within `windowMs` of `now`. */
  recentLeaks(now: number, windowMs: number): number {
    return countSince(this.#leaks, now - windowMs);
  }

  /** `lease-held-too-long` warnings within `windowMs` of `now`. */
  recentLeasesHeldTooLong(now: number, windowMs: number): number {
    return countSince(this.#heldTooLong, now - windowMs);
  }

  /**
   * Records the pool's `totals.acquireTimeouts` as read at `now`. The pool emits no event
   * for an acquire timeout, so the timeouts are only seen between two samples: a rise is
   * known to be recent only if the sample before it is (see {@link recentAcquireTimeouts}).
   */
  observeAcquireTimeouts(now: number, total: number): void {
    const last = this.#lastTimeoutSample;
    if (total > last.count) {
      this.#timeoutRises.push({ since: last.at, count: total - last.count });
      if (this.#timeoutRises.length > this.#maxIncidents) this.#timeoutRises.shift();
    }
    this.#lastTimeoutSample = { at: now, count: total };
  }

  /**
   * Acquire timeouts known to have happened within `windowMs` of `now`: those of rises whose
   * previous sample is in the window. A rise seen long after the sample before it is not
   * counted, since it may be old (first check after a quiet hour); the next one will be.
   */
  recentAcquireTimeouts(now: number, windowMs: number): number {
    let count = 0;
    for (const rise of this.#timeoutRises) if (rise.since >= now - windowMs) count += rise.count;
    return count;
  }

  /** Stops watching the pool (it stops by itself when the pool closes). */
  dispose(): void {
    this.#subscription.unsubscribe();
  }

  #record(event: PoolEvent): void {
    switch (event.type) {
      case 'connect-end': {
        const record = this.#touch(event.address);
        record.consecutiveFailures = 0;
        record.lastSuccessAt = event.at;
        break;
      }
      case 'connect-failed': {
        const record = this.#touch(event.address);
        record.consecutiveFailures++;
        record.lastFailureAt = event.at;
        record.lastError = toSafeError(event.error);
        break;
      }
      case 'connection-leaked':
        pushBounded(this.#leaks, event.at, this.#maxIncidents);
        break;
      case 'lease-held-too-long':
        pushBounded(this.#heldTooLong, event.at, this.#maxIncidents);
        break;
      default:
        break;
    }
  }

  /** The record of `address`, moved to the most recently active end (a Map keeps insertion order). */
  #touch(address: string): MutableRecord {
    let record = this.#addresses.get(address);
    if (record === undefined) {
      record = { address, consecutiveFailures: 0, lastFailureAt: null, lastSuccessAt: null, lastError: null };
    } else {
      this.#addresses.delete(address);
    }
    this.#addresses.set(address, record);
    if (this.#addresses.size > this.#maxAddresses) {
      const stalest = this.#addresses.keys().next().value;
      if (stalest !== undefined) this.#addresses.delete(stalest);
    }
    return record;
  }

  /** The pool watched. */
  get pool(): ConnectionPool {
    return this.#pool;
  }
}

function pushBounded(list: number[], value: number, max: number): void {
  list.push(value);
  if (list.length > max) list.shift();
}

function countSince(list: readonly number[], since: number): number {
  let count = 0;
  for (const at of list) if (at >= since) count++;
  return count;
}
