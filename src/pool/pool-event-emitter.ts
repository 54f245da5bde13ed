import { Subject, config, type Observable } from 'rxjs';
import { CallbackFailures } from './callback-failures.js';
import type { PoolEvent } from './events.js';

/**
 * Where the pool's events go out: `pool.events$`, synchronously and in the order things
 * happen. Every part of the engine asks `listening` before it builds an event, so that a pool
 * nobody watches pays nothing for its events (no object, no clock read, no string).
 *
 * A subscriber that throws (in its own callback or in an operator of its chain) stops neither
 * the pool, nor the other subscribers, nor the process: RxJS would report the error as
 * unhandled on a timer, which exits Node. While an event is delivered, RxJS's synchronous
 * error handling is on, so that the error comes back here, where it is reported once as a
 * warning (see {@link CallbackFailures}) and dropped.
 */
export class PoolEventEmitter {
  readonly #subject = new Subject<PoolEvent>();
  readonly #events$ = this.#subject.asObservable();
  /** Where the errors of the user's callbacks are reported (events$ subscribers, inspect, hooks). */
  readonly failures = new CallbackFailures();

  /** Every event; completes when the pool has closed. */
  get events$(): Observable<PoolEvent> {
    return this.#events$;
  }

  /** True when someone listens: an event is worth building. */
  get listening(): boolean {
    return this.#subject.observed;
  }

  emit(event: PoolEvent): void {
    this.#deliver(() => this.#subject.next(event));
  }

  /** The pool has closed: no event follows. */
  complete(): void {
    this.#deliver(() => this.#subject.complete());
  }

  #deliver(send: () => void): void {
    const previous = config.useDeprecatedSynchronousErrorHandling;
    config.useDeprecatedSynchronousErrorHandling = true;
    try {
      send();
    } catch (error) {
      this.failures.report('events$ subscriber', error);
    } finally {
      config.useDeprecatedSynchronousErrorHandling = previous;
    }
  }
}
