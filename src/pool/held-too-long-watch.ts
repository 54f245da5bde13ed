import type { SchedulerLike, Subscription } from 'rxjs';
import type { LeaseSlot } from './lease.js';
import { LinkedList } from './linked-list.js';

/**
 * Warns about leases held longer than `leakDetectionThreshold` (as HikariCP's
 * leakDetectionThreshold), without taking them back. Leases are watched in acquire order
 * with a single timer for the oldest one, so the cost is O(1) per acquire and release and
 * nothing at all when the option is off.
 */
export class HeldTooLongWatch {
  readonly #watched = new LinkedList<LeaseSlot>();
  #timer: Subscription | null = null;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly thresholdMs: number,
    private readonly onOverdue: (slot: LeaseSlot, now: number) => void,
  ) {}

  add(slot: LeaseSlot): void {
    this.#watched.push(slot.watchNode);
    if (this.#timer === null) this.#arm(slot.acquiredAt + this.thresholdMs);
  }

  remove(slot: LeaseSlot): void {
    this.#watched.remove(slot.watchNode);
    if (this.#watched.size === 0) this.#disarm();
  }

  dispose(): void {
    this.#disarm();
    while (this.#watched.head) this.#watched.remove(this.#watched.head);
  }

  #arm(dueAt: number): void {
    const delay = Math.max(0, dueAt - this.scheduler.now());
    this.#timer = this.scheduler.schedule(() => {
      this.#timer = null;
      this.#check();
    }, delay);
  }

  #disarm(): void {
    this.#timer?.unsubscribe();
    this.#timer = null;
  }

  #check(): void {
    const now = this.scheduler.now();
    for (let node = this.#watched.head; node && now - node.value.acquiredAt >= this.thresholdMs; node = this.#watched.head) {
      this.#watched.remove(node);
      this.onOverdue(node.value, now);
    }
    const next = this.#watched.head;
    if (next && this.#timer === null) this.#arm(next.value.acquiredAt + this.thresholdMs);
  }
}
