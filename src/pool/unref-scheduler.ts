import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One scheduled piece of work whose timer does not keep the process alive. Supports
 * rescheduling (`this.schedule(state, delay)` inside the work), as RxJS operators expect.
 */
class UnrefTimerAction<T> extends Subscription implements SchedulerAction<T> {
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #work: (this: SchedulerAction<T>, state?: T) => void;

  constructor(work: (this: SchedulerAction<T>, state?: T) => void) {
    super(() => this.#clear());
    this.#work = work;
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.#clear();
    if (delay === Infinity) return this; // never: nothing to arm
    this.#arm(state, Date.now() + Math.max(0, delay));
    return this;
  }

  /**
   * setTimeout takes at most 2^31-1 ms and runs anything longer after 1 ms, so a longer
   * wait (a 25-day timeout is a valid duration) is made of several timers.
   */
  #arm(state: T | undefined, dueAt: number): void {
    const wait = Math.min(Math.max(0, dueAt - Date.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (Date.now() < dueAt) {
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
    this.#timer.unref();
  }

  #clear(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
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
    return Date.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new UnrefTimerAction(work).schedule(state, delay);
  }
}

/** The shared instance used when no scheduler is given. */
export const unrefTimerScheduler: SchedulerLike = new UnrefTimerScheduler();
