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
  /**
   * The exchanges being timed, in start order: an intrusive list through the timers
   * themselves, not a Set, since every proxied request adds one and takes it out, and a Set
   * allocates a new table every few of those (bench/RESULTS.md, issue 15).
   */
  #first: ExchangeTimer | null = null;
  #last: ExchangeTimer | null = null;
  #count = 0;
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
      this.#append(exchange);
      // Every deadline already timed is earlier than this one: only an idle timer is armed.
      if (this.#timer === null) this.#arm(this.#timeoutMs);
    }
    return exchange;
  }

  /** How many exchanges are being timed (for tests). */
  get running(): number {
    return this.#count;
  }

  /** @internal */
  now(): number {
    return this.#scheduler.now();
  }

  /** @internal The exchange ended: it is no longer timed. */
  forget(exchange: ExchangeTimer): void {
    if (!exchange.timed) return;
    exchange.timed = false;
    const { previous, next } = exchange;
    if (previous === null) this.#first = next;
    else previous.next = next;
    if (next === null) this.#last = previous;
    else next.previous = previous;
    exchange.previous = exchange.next = null;
    this.#count--;
    // The timer is left armed: when it fires it finds what is left, or stops.
  }

  #append(exchange: ExchangeTimer): void {
    exchange.timed = true;
    exchange.previous = this.#last;
    if (this.#last === null) this.#first = exchange;
    else this.#last.next = exchange;
    this.#last = exchange;
    this.#count++;
  }

  #arm(delay: number): void {
    this.#armedFor = this.#scheduler.now() + delay;
    this.#timer = this.#scheduler.schedule(() => this.#onTimer(), delay);
  }

  #onTimer(): void {
    this.#timer = null;
    const now = this.#scheduler.now();
    let next = Infinity;
    // Found first, expired after: an expiry's callback may end other exchanges or start new ones.
    let expired: ExchangeTimer[] | null = null;
    for (let exchange = this.#first; exchange !== null; exchange = exchange.next) {
      const due = exchange.lastActivity + this.#timeoutMs;
      if (due <= now) (expired ??= []).push(exchange);
      else if (due < next) next = due;
    }
    for (const exchange of expired ?? []) {
      this.forget(exchange);
      exchange.expire();
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

/** Where a watched body finds its exchange's timer (one property, rather than three closures per exchange). */
const TIMER = Symbol('exchangeTimer');

type WatchedBody = Readable & { [TIMER]?: ExchangeTimer | null };

/**
 * The timing of one exchange: see {@link ExchangeTimers}. It makes no closure of its own: the
 * body's listeners are shared functions that find it on the body ({@link TIMER}), since one is
 * made for every proxied request.
 */
export class ExchangeTimer {
  readonly #timers: ExchangeTimers;
  /** When the exchange started, then its answer or its body's last chunk came. */
  lastActivity: number;
  /** @internal Its place in {@link ExchangeTimers}' list of exchanges being timed. */
  previous: ExchangeTimer | null = null;
  /** @internal */
  next: ExchangeTimer | null = null;
  /** @internal Whether it is in that list. */
  timed = false;
  #onLate: ((this: unknown) => void) | null = null;
  #lateSubject: unknown = undefined;
  #onBodyStall: (() => Error) | null = null;
  #body: WatchedBody | null = null;
  #ended = false;

  /** @internal Made by {@link ExchangeTimers.start}. */
  constructor(timers: ExchangeTimers, now: number) {
    this.#timers = timers;
    this.lastActivity = now;
  }

  /**
   * What to do if no answer has come in time (abandon the request under way); replaces the one
   * set before. `onLate` is called with `subject` as `this`, so that a caller can pass a shared
   * function rather than make a closure per exchange.
   */
  onAnswerLate<T>(onLate: (this: T) => void, subject?: T): void {
    if (this.#body !== null || this.#ended) return;
    this.#onLate = onLate as (this: unknown) => void;
    this.#lateSubject = subject;
  }

  /**
   * The answer came: from now on `body` is watched for stalls, until it ends or is destroyed.
   * Its chunks are counted once its consumer starts its flow (`'resume'`: `pipe()`,
   * `resume()` or a `'data'` listener of its own), so that watching it does not start it.
   */
  answered(body: Readable, onBodyStall: () => Error): void {
    if (this.#ended) return;
    this.lastActivity = this.#timers.now();
    const watched = body as WatchedBody;
    this.#body = watched;
    this.#onLate = null;
    this.#lateSubject = undefined;
    this.#onBodyStall = onBodyStall;
    watched[TIMER] = this;
    // on(), not once(): once() wraps each listener in a closure and a state object.
    watched.on('resume', watchChunks);
    watched.on('end', endWatch);
    watched.on('close', endWatch);
  }

  /** The exchange is over (or failed): no timeout will fire. Idempotent. */
  stop(): void {
    this.end();
  }

  /** @internal Its deadline passed: it is abandoned. */
  expire(): void {
    const body = this.#body;
    const onBodyStall = this.#onBodyStall;
    const onLate = this.#onLate;
    const subject = this.#lateSubject;
    this.end();
    if (body !== null && onBodyStall !== null) body.destroy(onBodyStall());
    else if (onLate !== null) onLate.call(subject);
  }

  /** @internal A chunk came. */
  touch(): void {
    this.lastActivity = this.#timers.now();
  }

  /** @internal The exchange is over: no longer timed, its body no longer watched. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onLate = null;
    this.#lateSubject = undefined;
    this.#onBodyStall = null;
    this.#timers.forget(this);
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      body[TIMER] = null;
      body.removeListener('resume', watchChunks);
      body.removeListener('data', touchChunk);
      body.removeListener('end', endWatch);
      body.removeListener('close', endWatch);
    }
  }
}

// The body's listeners, shared by every exchange (`this` is the body).
function watchChunks(this: WatchedBody): void {
  // Once: a flow paused and resumed again (backpressure) must not add the listener twice.
  this.removeListener('resume', watchChunks);
  if (this[TIMER] != null) this.on('data', touchChunk);
}
function touchChunk(this: WatchedBody): void {
  this[TIMER]?.touch();
}
function endWatch(this: WatchedBody): void {
  this[TIMER]?.end();
}
