import type { ConnectionActors } from './connection-actors.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { CloseReason } from './events.js';
import type { IdleIndex } from './idle-index.js';
import type { ConnectionView, Lease } from './lease.js';
import type { ResolvedPoolOptions } from './options.js';
import { eventChannel, type PoolEventEmitter } from './pool-event-emitter.js';
import { PoolLease, type LeaseOwner } from './pool-lease.js';
import { LeaseHolder, LeaseSlot, type PoolTotals, type PooledConnection } from './pool-records.js';

/** What the ledger asks of the rest of the pool. */
export interface LeaseLedgerHost {
  /** A lease on `connection` (still open) was released: decide what becomes of the connection. */
  released(connection: PooledConnection): void;
  /** `connection` must take no new lease: a lease of it leaked, or asked for it. */
  markNoNewExchanges(connection: PooledConnection, reason: CloseReason): void;
}

// The channels of the two events of every lease, checked on the hot path (see eventChannel).
const ACQUIRED = eventChannel('connection-acquired');
const RELEASED = eventChannel('connection-released');

const STACK_HINT =
  'Where it was acquired is not known: create the pool with { captureAcquireStacks: true } to record a stack trace with every acquire.';

/** Where `acquire` was called, for leak reports; call it in the acquirer's own frame. */
export function captureAcquireStack(): string {
  const stack = new Error('acquired here').stack ?? '';
  // Drop the first lines: the message, this function and the pool's acquire method.
  return stack.split('\n').slice(3).join('\n');
}

/**
 * Leasing: hands leases out and takes them back, counts them, and watches them for leaks.
 *
 * - A lease that is garbage-collected unreleased is a leak (a FinalizationRegistry sees its
 *   holder go): its allocation is dropped and its connection takes no new lease.
 * - With `leakDetectionThreshold`, a lease held longer is reported (once; it is not taken).
 */
export class LeaseLedger implements LeaseOwner {
  readonly #options: ResolvedPoolOptions;
  readonly #emitter: PoolEventEmitter;
  readonly #totals: PoolTotals;
  readonly #idle: IdleIndex;
  readonly #actors: ConnectionActors;
  readonly #host: LeaseLedgerHost;
  readonly #registry: FinalizationRegistry<LeaseSlot>;
  /** Leases watched by leakDetectionThreshold (null when it is off). */
  readonly #heldTooLong: DeadlineQueue<LeaseSlot> | null;
  #leases = 0;

  constructor(
    options: ResolvedPoolOptions,
    emitter: PoolEventEmitter,
    totals: PoolTotals,
    idle: IdleIndex,
    actors: ConnectionActors,
    host: LeaseLedgerHost,
  ) {
    this.#options = options;
    this.#emitter = emitter;
    this.#totals = totals;
    this.#idle = idle;
    this.#actors = actors;
    this.#host = host;
    this.#registry = new FinalizationRegistry((slot) => this.#onCollected(slot));
    const threshold = options.leakDetectionThresholdMs;
    this.#heldTooLong =
      threshold === undefined
        ? null
        : new DeadlineQueue<LeaseSlot>(
            options.scheduler,
            (slot) => slot.acquiredAt + threshold,
            (slot, now) => this.#onHeldTooLong(slot, now),
          );
  }

  /** Leases held now. */
  get count(): number {
    return this.#leases;
  }

  /**
   * Hands a lease on `connection` out at `now` (the scheduler's; callers mostly have it at
   * hand already). The caller checked that the connection can take one.
   */
  lend(connection: PooledConnection, reused: boolean, startedAt: number, stack: string | undefined, now: number): Lease {
    if (connection.isIdle) this.#idle.remove(connection);
    connection.allocations++;
    this.#leases++;
    if (connection.allocationLimit > 1 && !connection.noNewExchanges) connection.bucket.multiplexed.add(connection);
    this.#actors.touch(connection);
    const holder = connection.freeHolders.pop() ?? this.#newHolder(connection);
    const slot = holder.slot;
    slot.live = true;
    slot.acquiredAt = now;
    slot.stack = stack;
    this.#heldTooLong?.add(slot.watchNode);
    this.#totals.acquired++;
    if (reused) this.#totals.reused++;
    if (this.#emitter.wantsOn(ACQUIRED)) {
      this.#emitter.emit({
        type: 'connection-acquired',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        reused,
        allocations: connection.allocations,
        allocationLimit: connection.allocationLimit,
        waitedMs: now - startedAt,
      });
    }
    return new PoolLease(this, connection, holder, reused);
  }

  /** {@link LeaseOwner}: `lease.release()`. */
  releaseLease(_lease: PoolLease, holder: LeaseHolder): void {
    const slot = holder.slot;
    if (!slot.live) return;
    slot.live = false;
    slot.stack = undefined;
    slot.purpose = undefined;
    this.#heldTooLong?.remove(slot.watchNode);
    const connection = slot.connection as PooledConnection; // a live slot has its connection
    if (connection.phase !== 'open') return; // closed under the lease: nothing to give back
    connection.freeHolders.push(holder);
    connection.allocations--;
    this.#leases--;
    this.#totals.released++;
    if (this.#emitter.wantsOn(RELEASED)) {
      const now = this.#options.scheduler.now();
      this.#emitter.emit({
        type: 'connection-released',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        allocations: connection.allocations,
        allocationLimit: connection.allocationLimit,
        heldMs: now - slot.acquiredAt,
      });
    }
    this.#host.released(connection);
  }

  /** {@link LeaseOwner}: `lease.noNewExchanges()`. */
  markNoNewExchanges(connection: PooledConnection): void {
    this.#host.markNoNewExchanges(connection, 'no-new-exchanges');
  }

  /** {@link LeaseOwner}: `lease.connection`. */
  viewOf(connection: PooledConnection): ConnectionView {
    return this.#actors.viewOf(connection);
  }

  /** The connection of `lease` if it is a lease of this pool, else undefined. */
  connectionOf(lease: Lease): PooledConnection | undefined {
    return PoolLease.connectionOf(lease, this);
  }

  /**
   * `connection` is being closed: its leases count no more. Its free holders stay registered
   * (they become garbage with the connection, and the registry's callback finds their slots
   * not live and does nothing): unregistering them would cost a lookup in the registry's token
   * table per holder, a cache miss at scale, in every close. Their slots let go of the
   * connection instead, so that the registry, which keeps a slot until its callback has run,
   * does not keep the connection (and its actor) that long.
   */
  forget(connection: PooledConnection): void {
    this.#leases -= connection.allocations;
    const free = connection.freeHolders;
    for (let i = 0; i < free.length; i++) (free[i] as LeaseHolder).slot.connection = null;
  }

  /** Stops the held-too-long timer (the pool has closed). */
  dispose(): void {
    this.#heldTooLong?.dispose();
  }

  #newHolder(connection: PooledConnection): LeaseHolder {
    const slot = new LeaseSlot(connection);
    const holder = new LeaseHolder(slot);
    // No unregister token: a holder is never unregistered (see forget), so V8 keeps no token table.
    this.#registry.register(holder, slot);
    return holder;
  }

  #onCollected(slot: LeaseSlot): void {
    if (!slot.live) return;
    slot.live = false;
    this.#heldTooLong?.remove(slot.watchNode);
    const connection = slot.connection as PooledConnection; // a live slot has its connection
    if (connection.phase !== 'open') return;
    connection.allocations--;
    this.#leases--;
    this.#totals.leaked++;
    if (this.#emitter.wants('connection-leaked')) {
      const where = `${connection.id} to ${String(connection.address)}${purposeOf(slot)}`;
      this.#emitter.emit({
        type: 'connection-leaked',
        at: this.#options.scheduler.now(),
        connectionId: connection.id,
        address: String(connection.address),
        acquiredAt: slot.acquiredAt,
        stack: slot.stack ?? STACK_HINT,
        message:
          `A lease of connection ${where} was garbage-collected without release(). ` +
          'The connection is closed and will not be reused. Release every lease (try/finally, or `using lease = await pool.acquire(...)`); ' +
          'for an HTTP response, read or discard its body to the end. ' +
          (slot.stack ? `It was acquired at:\n${slot.stack}` : STACK_HINT),
      });
    }
    slot.stack = undefined;
    slot.purpose = undefined;
    this.#host.markNoNewExchanges(connection, 'leaked');
  }

  #onHeldTooLong(slot: LeaseSlot, now: number): void {
    const connection = slot.connection;
    if (!slot.live || connection === null || connection.phase !== 'open' || !this.#emitter.wants('lease-held-too-long')) return;
    const heldMs = now - slot.acquiredAt;
    this.#emitter.emit({
      type: 'lease-held-too-long',
      at: now,
      connectionId: connection.id,
      address: String(connection.address),
      acquiredAt: slot.acquiredAt,
      heldMs,
      stack: slot.stack ?? STACK_HINT,
      message:
        `A lease of connection ${connection.id} to ${String(connection.address)}${purposeOf(slot)} has been held for ${heldMs} ms, ` +
        `longer than leakDetectionThreshold (${this.#options.leakDetectionThresholdMs} ms). It may have been forgotten: ` +
        'release it when done; for an HTTP response, read or discard its body. ' +
        (slot.stack ? `It was acquired at:\n${slot.stack}` : STACK_HINT),
    });
  }
}

function purposeOf(slot: LeaseSlot): string {
  return slot.purpose ? ` (${slot.purpose})` : '';
}
