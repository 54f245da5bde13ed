import type { SchedulerLike, Subscription } from 'rxjs';
import { LinkedList, type ListNode } from './linked-list.js';

/**
 * Items that each fall due at a deadline, on one timer: the pool's leases watched by
 * `leakDetectionThreshold`, and its acquirers waiting under `acquireTimeout`. Items must be
 * added in the order of their deadlines (both kinds are: the same duration from the time
 * they were added), so the queue is a FIFO list and the timer is set for its head only.
 * Adding and removing cost O(1) and, while the queue is not empty, make or cancel no timer.
 *
 * When the timer fires, every item due by then is taken off the queue and handed to `onDue`,
 * in order; the timer is then set for the new head, if any. An empty queue holds no timer.
 */
export class DeadlineQueue<T> {
  readonly #queue = new LinkedList<T>();
  readonly #scheduler: SchedulerLike;
  readonly #deadlineOf: (item: T) => number;
  readonly #onDue: (item: T, now: number) => void;
  #timer: Subscription | null = null;
  /** True while due items are handed out (an item added meanwhile must not arm a second timer). */
  #firing = false;

  constructor(scheduler: SchedulerLike, deadlineOf: (item: T) => number, onDue: (item: T, now: number) => void) {
    this.#scheduler = scheduler;
    this.#deadlineOf = deadlineOf;
    this.#onDue = onDue;
  }

  /** How many items wait. */
  get size(): number {
    return this.#queue.size;
  }

  /** Queues the item of `node` (its deadline no earlier than any queued one's). */
  add(node: ListNode<T>): void {
    this.#queue.push(node);
    if (this.#timer === null && !this.#firing) this.#arm(this.#deadlineOf(node.value));
  }

  /** Takes the item of `node` off the queue, if it is on it. */
  remove(node: ListNode<T>): void {
    if (node.list !== this.#queue) return;
    this.#queue.remove(node);
    if (this.#queue.size === 0) this.#disarm();
  }

  /** Empties the queue and cancels the timer. */
  dispose(): void {
    this.#disarm();
    while (this.#queue.head) this.#queue.remove(this.#queue.head);
  }

  #arm(dueAt: number): void {
    const delay = Math.max(0, dueAt - this.#scheduler.now());
    this.#timer = this.#scheduler.schedule(() => {
      this.#timer = null;
      this.#fire();
    }, delay);
  }

  #disarm(): void {
    this.#timer?.unsubscribe();
    this.#timer = null;
  }

  #fire(): void {
    const now = this.#scheduler.now();
    this.#firing = true;
    try {
      // The head may be later than the timer was set for (the item it was set for left early).
      for (let node = this.#queue.head; node !== null && this.#deadlineOf(node.value) <= now; node = this.#queue.head) {
        this.#queue.remove(node);
        this.#onDue(node.value, now);
      }
    } finally {
      this.#firing = false;
      const next = this.#queue.head;
      if (next !== null && this.#timer === null) this.#arm(this.#deadlineOf(next.value));
    }
  }
}
