import { readFileSync } from 'node:fs';

/**
 * How much of the time this process could not run, over time: a timer every `intervalMs`
 * records by how much it fired late, and (on Linux) how long the process's main thread waited
 * for a CPU meanwhile (`/proc/self/schedstat`: runnable, but other work had the cores). On a
 * loaded machine every timer, connect and handshake waits: a soak can then tell a request that
 * ran out of time because nothing could run from one that was lost.
 */
export class EventLoopLag {
  readonly #ticks: Array<{ readonly at: number; readonly stalledMs: number }> = [];
  readonly #timer: NodeJS.Timeout;
  readonly #intervalMs: number;
  #last = Date.now();
  #lastWaitedNs = runQueueWaitNs();

  private constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
    this.#timer = setInterval(() => {
      const now = Date.now();
      const waitedNs = runQueueWaitNs();
      const lateMs = Math.max(0, now - this.#last - intervalMs);
      const waitedMs = waitedNs === undefined || this.#lastWaitedNs === undefined ? 0 : (waitedNs - this.#lastWaitedNs) / 1e6;
      // The two overlap (a thread that waited for a CPU also fires its timers late): the larger counts.
      this.#ticks.push({ at: now, stalledMs: Math.max(lateMs, waitedMs) });
      this.#last = now;
      this.#lastWaitedNs = waitedNs;
    }, intervalMs);
    this.#timer.unref();
  }

  /** Starts measuring. */
  static start(intervalMs = 10): EventLoopLag {
    return new EventLoopLag(intervalMs);
  }

  /** Stops measuring (what was measured stays readable). */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** The share (0..1) of the measured time during which the process could not run. */
  stalledShare(): number {
    const first = this.#ticks[0];
    const last = this.#ticks.at(-1);
    if (first === undefined || last === undefined || last.at <= first.at) return 0;
    return Math.min(1, this.stalledMsBetween(first.at, last.at) / (last.at - first.at));
  }

  /** How many ms, in all, the process could not run between `from` and `to` (Date.now() times). */
  stalledMsBetween(from: number, to: number): number {
    let stalled = 0;
    // A tick measures the interval just before it: count the ticks up to one interval past `to`.
    for (const tick of this.#ticks) if (tick.at >= from && tick.at <= to + this.#intervalMs) stalled += tick.stalledMs;
    return Math.round(stalled);
  }
}

/** Nanoseconds the main thread has spent runnable but waiting for a CPU, where Linux says it. */
function runQueueWaitNs(): number | undefined {
  try {
    const [, waiting] = readFileSync('/proc/self/schedstat', 'utf8').split(' ');
    const ns = Number(waiting);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}
