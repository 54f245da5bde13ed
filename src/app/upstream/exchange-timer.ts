import type { Readable } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * The timeouts of the upstream exchanges of one upstream client (`UPSTREAM_TIMEOUT`), on the
 * pool's scheduler so that tests drive them in virtual time. Each exchange
 * ({@link ExchangeTimer}, from {@link ExchangeTimers.start}):
 *
 * 1. must have its answer (its headers) within `timeoutMs` of its start, a connection slot
 *    and the connect included: past it, the callback of {@link ExchangeTimer.onAnswerLate} runs;
 * 2. then its body may not stay silent for `timeoutMs` (from its last chunk, or from the
 *    answer before the first): past it, the body is destroyed with the error of
 *    {@link ExchangeTimer.answered}'s `onBodyStall`.
 *
 * One timer for all the exchanges, armed for the earliest deadline, rather than one per
 * exchange (an RxJS action, a Node `Timeout` and closures per request): an exchange costs a
 * Set entry, and the timer fires about once per `timeoutMs` while the exchanges end in time.
 * The body is watched with a `'data'` listener beside its consumer's, not passed through
 * another stream (a Transform per response, which it replaces, cost more than the rest of
 * the watch: bench/RESULTS.md, issue 15).
 */
export class ExchangeTimers {
  readonly #scheduler: SchedulerLike;
  readonly #timeoutMs: number;
  /** The exchanges being timed; in start order (a Set keeps insertion order). */
  readonly #running = new Set<ExchangeTimer>();
  #timer: Subscription | null = null;
  /** When the armed timer fires. */
  #armedFor = Infinity;

  constructor(scheduler: SchedulerLike, timeoutMs: number) {
    this.#scheduler = scheduler;
    this.#timeoutMs = timeoutMs;
  }

  /** Starts timing an exchange now. */
  start(): ExchangeTimer {
    const exchange = new ExchangeTimer(this, this.#scheduler.now());
    if (this.#timeoutMs !== Infinity) {
      this.#running.add(exchange);
      // Every deadline already timed is earlier than this one: only an idle timer is armed.
      if (this.#timer === null) this.#arm(this.#timeoutMs);
    }
    return exchange;
  }

  /** How many exchanges are being timed (for tests). */
  get running(): number {
    return this.#running.size;
  }

  /** @internal */
  now(): number {
    return this.#scheduler.now();
  }

  /** @internal The exchange ended: it is no longer timed. */
  forget(exchange: ExchangeTimer): void {
    this.#running.delete(exchange);
    // The timer is left armed: when it fires it finds what is left, or stops.
  }

  #arm(delay: number): void {
    this.#armedFor = this.#scheduler.now() + delay;
    this.#timer = this.#scheduler.schedule(() => this.#onTimer(), delay);
  }

  #onTimer(): void {
    this.#timer = null;
    const now = this.#scheduler.now();
    let next = Infinity;
    for (const exchange of this.#running) {
      const due = exchange.lastActivity + this.#timeoutMs;
      if (due <= now) {
        this.#running.delete(exchange);
        exchange.expire();
      } else if (due < next) {
        next = due;
      }
    }
    // An exchange started meanwhile (by an expiry's callback) may have armed a later timer.
    if (next !== Infinity && next < this.armedFor) {
      (this.#timer as Subscription | null)?.unsubscribe();
      this.#arm(next - now);
    }
  }

  /** For tests: when the timer fires next (`Infinity`: not armed). */
  get armedFor(): number {
    return this.#timer === null ? Infinity : this.#armedFor;
  }
}

/** The timing of one exchange: see {@link ExchangeTimers}. */
export class ExchangeTimer {
  readonly #timers: ExchangeTimers;
  /** When the exchange started, then its answer or its body's last chunk came. */
  lastActivity: number;
  #onExpiry: () => void = noop;
  #body: Readable | null = null;
  #ended = false;

  /** @internal Made by {@link ExchangeTimers.start}. */
  constructor(timers: ExchangeTimers, now: number) {
    this.#timers = timers;
    this.lastActivity = now;
  }

  /** What to do if no answer has come in time (abandon the request under way); replaces the one set before. */
  onAnswerLate(onLate: () => void): void {
    if (this.#body === null) this.#onExpiry = onLate;
  }

  /**
   * The answer came: from now on `body` is watched for stalls, until it ends or is destroyed.
   * Its chunks are counted once its consumer starts its flow (`'resume'`: `pipe()`,
   * `resume()` or a `'data'` listener of its own), so that watching it does not start it.
   */
  answered(body: Readable, onBodyStall: () => Error): void {
    if (this.#ended) return;
    this.lastActivity = this.#timers.now();
    this.#body = body;
    this.#onExpiry = () => body.destroy(onBodyStall());
    body.once('resume', this.#watchChunks);
    body.once('end', this.#end);
    body.once('close', this.#end);
  }

  /** The exchange is over (or failed): no timeout will fire. Idempotent. */
  stop(): void {
    this.#end();
  }

  /** @internal Its deadline passed: it is abandoned. */
  expire(): void {
    const expire = this.#onExpiry;
    this.#end();
    expire();
  }

  readonly #watchChunks = (): void => {
    if (this.#body !== null) this.#body.on('data', this.#touch);
  };

  readonly #touch = (): void => {
    this.lastActivity = this.#timers.now();
  };

  readonly #end = (): void => {
    if (this.#ended) return;
    this.#ended = true;
    this.#onExpiry = noop;
    this.#timers.forget(this);
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      body.removeListener('resume', this.#watchChunks);
      body.removeListener('data', this.#touch);
    }
  };
}

function noop(): void {}
