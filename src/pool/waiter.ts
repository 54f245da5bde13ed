import type { AddressBucket } from './address-bucket.js';
import type { Lease } from './lease.js';
import { ListNode } from './linked-list.js';

/**
 * An acquirer that could not be served at once: it waits in its address's queue and in the
 * pool's queue (arrival order across addresses), or is connecting its own connection.
 */
export class Waiter {
  readonly bucketNode: ListNode<Waiter>;
  readonly poolNode: ListNode<Waiter>;
  /** Its place among the waiters timed by acquireTimeout (see `DeadlineQueue`). */
  readonly deadlineNode: ListNode<Waiter>;
  /** Removes the AbortSignal listener. */
  detachSignal: (() => void) | null = null;
  settled = false;
  /** True while it waits, parked, for a multiplexed connection being made (see `AddressBucket.parked`). */
  parked = false;

  constructor(
    readonly bucket: AddressBucket,
    readonly startedAt: number,
    readonly signal: AbortSignal | undefined,
    /** Where acquire() was called, when captureAcquireStacks is on. */
    readonly stack: string | undefined,
    readonly resolve: (lease: Lease) => void,
    readonly reject: (error: Error) => void,
    /** `reuse: false`: it takes no idle connection, but a new one (see `AcquireOptions.reuse`). */
    readonly fresh = false,
    /** `coalesce: true`: see `AcquireOptions.coalesce`. */
    readonly coalesce = false,
  ) {
    this.bucketNode = new ListNode<Waiter>(this);
    this.poolNode = new ListNode<Waiter>(this);
    this.deadlineNode = new ListNode<Waiter>(this);
  }
}
