import { Subject, type Observable } from 'rxjs';
import type { PoolEvent } from './events.js';

/**
 * Where the pool's events go out: `pool.events$`, synchronously and in the order things
 * happen. Every part of the engine asks `listening` before it builds an event, so that a pool
 * nobody watches pays nothing for its events (no object, no clock read, no string).
 */
export class PoolEventEmitter {
  readonly #subject = new Subject<PoolEvent>();
  readonly #events$ = this.#subject.asObservable();

  /** Every event; completes when the pool has closed. */
  get events$(): Observable<PoolEvent> {
    return this.#events$;
  }

  /** True when someone listens: an event is worth building. */
  get listening(): boolean {
    return this.#subject.observed;
  }

  emit(event: PoolEvent): void {
    this.#subject.next(event);
  }

  /** The pool has closed: no event follows. */
  complete(): void {
    this.#subject.complete();
  }
}
