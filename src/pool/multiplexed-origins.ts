/** What the pool remembers of one multiplexed origin. */
interface Remembered {
  /** The allocation limit its last connection had (an HTTP/2 peer's MAX_CONCURRENT_STREAMS). */
  limit: number;
  /** When it was last seen multiplexed (scheduler ms). */
  seenAt: number;
}

/**
 * The addresses (address keys) whose connections were multiplexed (HTTP/2), remembered after
 * their last connection closed, so that the next burst of `coalesce` acquirers to one of them
 * waits for a connect in flight instead of each opening its own (Chromium keeps the same
 * knowledge of which servers speak HTTP/2). Bounded: at most `max` addresses, the least
 * recently seen forgotten first (a `Map` kept in the order of last sight), and each forgotten
 * `forgetAfterMs` after it was last seen multiplexed, or as soon as a connection to it is not.
 */
export class MultiplexedOrigins {
  readonly #entries = new Map<string, Remembered>();
  readonly #max: number;
  readonly #forgetAfterMs: number;

  constructor(max: number, forgetAfterMs: number) {
    this.#max = max;
    this.#forgetAfterMs = forgetAfterMs;
  }

  /** Addresses remembered now (expired ones included until they are looked up). */
  get size(): number {
    return this.#entries.size;
  }

  /** The allocation limit remembered for `key` at `now`, or 1 (not known to be multiplexed). */
  limitOf(key: string, now: number): number {
    const entry = this.#entries.get(key);
    if (entry === undefined) return 1;
    if (now - entry.seenAt >= this.#forgetAfterMs) {
      this.#entries.delete(key);
      return 1;
    }
    return entry.limit;
  }

  /**
   * A connection to `key` has (or, its last one closing, had) allocation limit `limit` at
   * `now`: above 1, `key` is remembered (as the most recently seen); 1, it is forgotten (the
   * origin now speaks HTTP/1.1).
   */
  saw(key: string, limit: number, now: number): void {
    this.#entries.delete(key);
    if (!(limit > 1) || this.#max === 0) return;
    this.#entries.set(key, { limit, seenAt: now });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
