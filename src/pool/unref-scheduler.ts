import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

// The timer functions as they are when this module loads. Test doubles and fake timers
// (sinon's, Jest's, a replaced global.setTimeout) installed later must not reach the pool's
// own clock: a fake one would never fire (or fire at once, over and over, under runAll()),
// and a stand-in may return something that is not a Node Timeout. A pool is put in virtual
// time through its `scheduler` option instead.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realDateNow = Date.now.bind(Date);

/**
 * One scheduled piece of work whose timer does not keep the process alive. Supports
 * rescheduling (`this.schedule(state, delay)` inside the work), as RxJS operators expect.
 */
class UnrefTimerAction<T> extends Subscription implements SchedulerAction<T> {
  #timer: ReturnType<typeof realSetTimeout> | undefined;
  readonly #work: (this: SchedulerAction<T>, state?: T) => void;

  constructor(work: (this: SchedulerAction<T>, state?: T) => void) {
    super(() => this.#clear());
    this.#work = work;
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.#clear();
    if (delay === Infinity) return this; // never: nothing to arm
    this.#arm(state, realDateNow() + Math.max(0, delay));
    return this;
  }

  /**
   * setTimeout takes at most 2^31-1 ms and runs anything longer after 1 ms, so a longer
   * wait (a 25-day timeout is a valid duration) is made of several timers.
   */
  #arm(state: T | undefined, dueAt: number): void {
    const wait = Math.min(Math.max(0, dueAt - realDateNow()), MAX_TIMER_MS);
    this.#timer = realSetTimeout(() => {
      this.#timer = undefined;
      if (realDateNow() < dueAt) {
        this.#arm(state, dueAt);
        return;
      }
      try {
        this.#work.call(this, state);
      } catch (error) {
        this.unsubscribe();
        throw error;
      }
    }, wait);
    // A stand-in installed before this module loaded may return a plain id.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clear(): void {
    if (this.#timer !== undefined) {
      realClearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

/**
 * The pool's default scheduler: `asyncScheduler`'s behaviour (wall-clock `now()`, one
 * `setTimeout` per action) except that its timers are unref'd. An idle pool then never
 * keeps a process from exiting, as Node's own idle keep-alive sockets don't.
 */
export class UnrefTimerScheduler implements SchedulerLike {
  now(): number {
    return realDateNow();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new UnrefTimerAction(work).schedule(state, delay);
  }
}

/** The shared instance used when no scheduler is given. */
export const unrefTimerScheduler: SchedulerLike = new UnrefTimerScheduler();
