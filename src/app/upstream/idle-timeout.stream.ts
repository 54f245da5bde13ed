import { Transform, type TransformCallback } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * Passes bytes through unchanged, and fails with `onTimeout()` when none have passed for
 * `timeoutMs`: a body that stalls must not hold a client, a pooled connection and a request
 * slot forever. Timed by `scheduler` (the pool's), so tests drive it in virtual time; it keeps
 * one timer, re-armed lazily rather than on every chunk.
 */
export class IdleTimeoutStream extends Transform {
  readonly #scheduler: SchedulerLike;
  readonly #timeoutMs: number;
  readonly #onTimeout: () => Error;
  #lastActivity: number;
  #timer: Subscription | null = null;

  constructor(scheduler: SchedulerLike, timeoutMs: number, onTimeout: () => Error) {
    super();
    this.#scheduler = scheduler;
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
    this.#lastActivity = scheduler.now();
    if (timeoutMs !== Infinity) this.#arm(timeoutMs);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#lastActivity = this.#scheduler.now();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#disarm();
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#disarm();
    callback(error);
  }

  #arm(delay: number): void {
    this.#timer = this.#scheduler.schedule(() => {
      this.#timer = null;
      const idle = this.#scheduler.now() - this.#lastActivity;
      if (idle >= this.#timeoutMs) this.destroy(this.#onTimeout());
      else this.#arm(this.#timeoutMs - idle);
    }, delay);
  }

  #disarm(): void {
    this.#timer?.unsubscribe();
    this.#timer = null;
  }
}
