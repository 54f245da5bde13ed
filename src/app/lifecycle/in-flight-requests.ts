import { Injectable } from '@nestjs/common';

/**
 * Counts the proxied requests in flight, so that a graceful shutdown can wait for them (event
 * streams are not counted: they never end by themselves, and are closed on shutdown).
 */
@Injectable()
export class InFlightRequests {
  #count = 0;
  #waiters: Array<() => void> = [];

  /** Requests in flight now. */
  get count(): number {
    return this.#count;
  }

  /** Counts one request until the returned function is called (calling it again does nothing). */
  begin(): () => void {
    this.enter();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.leave();
    };
  }

  /**
   * Counts one request, until {@link leave} (called exactly once for it): the proxy's way, with
   * no closure per request; {@link begin} for callers that may end a request twice.
   */
  enter(): void {
    this.#count++;
  }

  /** One request counted by {@link enter} ended. */
  leave(): void {
    this.#count--;
    if (this.#count === 0) this.#wakeWaiters();
  }

  /**
   * Resolves true once no request is in flight, or false after `timeoutMs` (real time: the
   * drain deadline is the process's, as Kubernetes measures it).
   */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== onIdle);
        resolve(false);
      }, timeoutMs);
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(onIdle);
    });
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
