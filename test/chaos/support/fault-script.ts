import type { FaultProxy } from '../../support/fault-proxy.js';

/** A fault commanded for a while (or at an instant), with when it was in force. */
export interface Outage {
  readonly kind: 'reset-all' | 'half-close-all' | 'blackhole' | 'refuse' | 'hold-handshakes';
  readonly from: number;
  /** When it was lifted (`from` for an instant fault); undefined while in force. */
  to: number | undefined;
}

/** One step of the script: at this fraction of the load, do this (for this long, in real time). */
interface Step {
  readonly at: number;
  readonly kind: Outage['kind'];
  readonly forMs?: number;
}

/**
 * The faults commanded during a soak, by progress through the load (not by time, so that a
 * slow machine meets the same faults at the same point), on top of the random ones. Each
 * lasting fault is lifted by a real timer, bounded; `stop()` lifts whatever is still in force.
 */
export const SOAK_SCRIPT: readonly Step[] = [
  { at: 0.1, kind: 'reset-all' },
  { at: 0.2, kind: 'half-close-all' },
  { at: 0.3, kind: 'blackhole', forMs: 200 },
  { at: 0.45, kind: 'refuse', forMs: 100 },
  { at: 0.6, kind: 'hold-handshakes', forMs: 300 },
  { at: 0.75, kind: 'reset-all' },
  { at: 0.9, kind: 'blackhole', forMs: 100 },
];

/** Runs {@link SOAK_SCRIPT} against `proxy` as a load of `total` requests progresses. */
export class FaultScript {
  readonly outages: Outage[] = [];
  #nextStep = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly proxy: FaultProxy,
    private readonly total: number,
    private readonly steps: readonly Step[] = SOAK_SCRIPT,
  ) {}

  /** Give it to the load driver's `onProgress`. */
  readonly onProgress = (completed: number): void => {
    while (this.#nextStep < this.steps.length && completed >= (this.steps[this.#nextStep] as Step).at * this.total) {
      this.#run(this.steps[this.#nextStep++] as Step);
    }
  };

  /** Whether `at` (ms) falls in an outage, or within `shadowMs` after one ended. */
  during(at: number, shadowMs: number): Outage | undefined {
    return this.outages.find((outage) => at >= outage.from && at <= (outage.to ?? Infinity) + shadowMs);
  }

  /** Lifts every fault still in force and waits for the proxy to accept again. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.proxy.restore();
    if (this.proxy.refusing) await this.proxy.accept();
    await Promise.all(this.#pending);
    for (const outage of this.outages) outage.to ??= Date.now();
  }

  #run(step: Step): void {
    const outage: Outage = { kind: step.kind, from: Date.now(), to: undefined };
    this.outages.push(outage);
    const proxy = this.proxy;
    const lift = (undo: () => void | Promise<void>): void => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const done = Promise.resolve(undo()).then(() => {
          outage.to = Date.now();
        });
        this.#pending.add(done);
        void done.finally(() => this.#pending.delete(done));
      }, step.forMs ?? 0);
      this.#timers.add(timer);
    };
    switch (step.kind) {
      case 'reset-all':
        proxy.reset();
        outage.to = outage.from;
        break;
      case 'half-close-all':
        proxy.halfClose();
        outage.to = outage.from;
        break;
      case 'blackhole':
        proxy.blackhole();
        lift(() => proxy.restore());
        break;
      case 'hold-handshakes':
        proxy.holdHandshakes();
        lift(() => proxy.restore());
        break;
      case 'refuse': {
        const refused = proxy.refuse();
        this.#pending.add(refused);
        void refused.finally(() => this.#pending.delete(refused));
        lift(() => proxy.accept());
        break;
      }
    }
  }
}
