import { VirtualAction, VirtualTimeScheduler } from 'rxjs';

/**
 * A virtual clock for the pool: give `scheduler` to the pool and time moves only when the
 * test says so.
 */
export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);

  constructor(start = 0) {
    this.scheduler.frame = start;
  }

  get now(): number {
    return this.scheduler.now();
  }

  /** Runs every action due up to `time`, in order, and leaves the clock at `time`. */
  advanceTo(time: number): void {
    this.scheduler.maxFrames = time;
    this.scheduler.flush();
    this.scheduler.frame = time;
    this.scheduler.maxFrames = Infinity;
  }

  advanceBy(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  /**
   * Moves the clock without running what is due: what a stalled timer looks like (an event
   * loop that never got to it, a scheduler that lost it).
   */
  jumpBy(ms: number): void {
    this.scheduler.frame = this.now + ms;
  }

  /** Actions still scheduled (a pool with nothing to do must hold none). */
  get pendingActions(): number {
    return this.scheduler.actions.length;
  }
}
