/** What one request of a {@link Load} came to: who served it, or why it failed. */
export type Outcome = { readonly servedBy: string } | { readonly error: Error };

/**
 * Requests sent without pause by `concurrency` workers, each sending its next request when
 * its last one is done, until stopped. Everything is counted: who served each request, and
 * every failure. The test moves on when counts are reached ({@link whenCompleted}), never
 * after a time.
 */
export class Load {
  readonly #send: () => Promise<string>;
  readonly #concurrency: number;
  readonly servedBy = new Map<string, number>();
  readonly failures: Error[] = [];
  #completed = 0;
  #running = false;
  #workers: Array<Promise<void>> = [];
  readonly #waiting: Array<{ count: number; resolve: () => void }> = [];

  /** @param send - sends one request and resolves with what served it (the backend's answer). */
  constructor(concurrency: number, send: () => Promise<string>) {
    this.#concurrency = concurrency;
    this.#send = send;
  }

  /** Requests done so far, served or failed. */
  get completed(): number {
    return this.#completed;
  }

  start(): this {
    this.#running = true;
    this.#workers = Array.from({ length: this.#concurrency }, () => this.#work());
    return this;
  }

  /** Stops sending; resolves when every request in flight is done. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  /** Resolves once `more` requests have completed from now on. */
  whenCompleted(more: number): Promise<void> {
    const count = this.#completed + more;
    return new Promise((resolve) => {
      this.#waiting.push({ count, resolve });
      this.#check();
    });
  }

  /** Who served the requests completed from now on: counts by backend (those that served none left out). */
  mark(): () => Map<string, number> {
    const before = new Map(this.servedBy);
    return () => {
      const since = new Map<string, number>();
      for (const [backend, count] of this.servedBy) {
        const served = count - (before.get(backend) ?? 0);
        if (served > 0) since.set(backend, served);
      }
      return since;
    };
  }

  async #work(): Promise<void> {
    while (this.#running) {
      let outcome: Outcome;
      try {
        outcome = { servedBy: await this.#send() };
      } catch (error) {
        outcome = { error: error instanceof Error ? error : new Error(String(error)) };
      }
      if ('servedBy' in outcome) this.servedBy.set(outcome.servedBy, (this.servedBy.get(outcome.servedBy) ?? 0) + 1);
      else this.failures.push(outcome.error);
      this.#completed++;
      this.#check();
    }
  }

  #check(): void {
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const waiter = this.#waiting[i] as { count: number; resolve: () => void };
      if (this.#completed >= waiter.count) {
        this.#waiting.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}
