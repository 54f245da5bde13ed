import { VirtualAction, VirtualTimeScheduler } from 'rxjs';

/**
 * A virtual clock for the service's pool (and so its upstream timeouts): the test moves time,
 * nothing sleeps. Real I/O still happens in real time; the test waits for it with bounded
 * waits on events, then moves the clock.
 */
export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);

  constructor(start = 1_000_000) {
    this.scheduler.frame = start;
  }

  get now(): number {
    return this.scheduler.now();
  }

  /** Runs everything due within `ms` from now, in order, and leaves the clock there. */
  advanceBy(ms: number): void {
    const time = this.now + ms;
    this.scheduler.maxFrames = time;
    this.scheduler.flush();
    this.scheduler.frame = time;
    this.scheduler.maxFrames = Infinity;
  }
}
