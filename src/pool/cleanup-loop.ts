import { EMPTY, Observable, Subject, defer, expand, map, of, switchMap, timer, type SchedulerLike, type Subscription } from 'rxjs';
import type { CleanupTick } from './events.js';

/**
 * The pool's cleanup stream: each tick runs `cleanup(now)` until it returns something other
 * than 0 (0 means "again at once", so it loops without a timer hop), then waits the delay it
 * returned, or stops on -1 until `wake()` is called. All timing goes through the scheduler,
 * so a stopped loop holds no timer and tests drive it in virtual time.
 */
export class CleanupLoop {
  readonly #scheduler: SchedulerLike;
  readonly #runTick: (now: number) => CleanupTick;
  readonly #wake$ = new Subject<void>();
  readonly #ticks$ = new Subject<CleanupTick>();
  readonly #subscription: Subscription;
  #nextTickAt: number | undefined = undefined;
  #lastTick: CleanupTick | undefined = undefined;

  /**
   * @param runTick - runs one tick at `now` and says what it did; must not throw.
   */
  constructor(scheduler: SchedulerLike, runTick: (now: number) => CleanupTick) {
    this.#scheduler = scheduler;
    this.#runTick = runTick;
    // switchMap: a wake cancels a pending wait and ticks at once, so a tick is never later
    // than a change that needs one (an idle limit exceeded, an earlier expiry).
    this.#subscription = this.#wake$.pipe(switchMap(() => this.#ticks())).subscribe(this.#ticks$);
  }

  /** Every tick, as it happens. */
  get ticks$(): Observable<CleanupTick> {
    return this.#ticks$.asObservable();
  }

  /** When the next tick is due, or undefined while the loop is stopped. */
  get nextTickAt(): number | undefined {
    return this.#nextTickAt;
  }

  /** The last tick, if any. */
  get lastTick(): CleanupTick | undefined {
    return this.#lastTick;
  }

  get isStopped(): boolean {
    return this.#nextTickAt === undefined;
  }

  /** Ticks now (synchronously), cancelling any pending wait. */
  wake(): void {
    if (!this.#subscription.closed) this.#wake$.next();
  }

  /** Ends the loop for good; no timer is left behind. */
  dispose(): void {
    this.#subscription.unsubscribe();
    this.#nextTickAt = undefined;
    this.#ticks$.complete();
  }

  #ticks(): Observable<CleanupTick> {
    return defer(() => of(this.#tick())).pipe(
      expand((tick) => (tick.delay < 0 ? EMPTY : timer(tick.delay, this.#scheduler).pipe(map(() => this.#tick())))),
    );
  }

  #tick(): CleanupTick {
    const tick = this.#runTick(this.#scheduler.now());
    this.#lastTick = tick;
    this.#nextTickAt = tick.delay < 0 ? undefined : tick.at + tick.delay;
    return tick;
  }
}
