import type { ConnectionActors } from './connection-actors.js';
import type { ConnectionCloser } from './connection-closer.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { CleanupTick } from './events.js';
import type { IdleIndex } from './idle-index.js';
import type { LifetimeIndex } from './lifetime-index.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolEventEmitter } from './pool-event-emitter.js';
import type { PoolState } from './pool-state.js';
import { toError } from './to-error.js';

/** If a cleanup pass throws, the loop tries again after this long. */
const CLEANUP_RETRY_MS = 1_000;

/**
 * OkHttp's cleanup, on the idle index: each pass evicts at most one connection and says when
 * the next pass is due. A pass reads the heads of the indexes only, so it costs the same at
 * 100k idle connections as at 1k.
 */
export class CleanupPolicy {
  readonly #options: ResolvedPoolOptions;
  readonly #state: PoolState;
  readonly #emitter: PoolEventEmitter;
  readonly #registry: ConnectionRegistry;
  readonly #actors: ConnectionActors;
  readonly #idle: IdleIndex;
  readonly #lifetimes: LifetimeIndex;
  readonly #closer: ConnectionCloser;

  constructor(
    options: ResolvedPoolOptions,
    state: PoolState,
    emitter: PoolEventEmitter,
    registry: ConnectionRegistry,
    actors: ConnectionActors,
    idle: IdleIndex,
    lifetimes: LifetimeIndex,
    closer: ConnectionCloser,
  ) {
    this.#options = options;
    this.#state = state;
    this.#emitter = emitter;
    this.#registry = registry;
    this.#actors = actors;
    this.#idle = idle;
    this.#lifetimes = lifetimes;
    this.#closer = closer;
  }

  /**
   * One pass: evicts the connection idle longest if it has been idle at least `keepAlive`, or
   * if idle connections exceed `maxIdleConnections`, and returns 0 (run again). Otherwise
   * returns the ms until the next one expires, `keepAlive` if all are in use, or -1 if the
   * pool holds no open connection (the loop stops until a connection is put back).
   *
   * Two kinds of deadline come first when due, each read at the top of its own heap: an idle
   * connection whose server allows it less than keepAlive (see `Transport.idleTimeout`), and a
   * connection at the end of its `maxLifetime` (retired: closed if idle, else marked to close
   * when done). Without them this is exactly OkHttp's algorithm; with them the delay returned
   * is also never later than the next of their deadlines.
   */
  cleanup(now: number): number {
    const shortLived = this.#idle.firstShortLived;
    if (shortLived !== undefined && now >= shortLived.expiresAt) {
      this.#closer.close(shortLived, 'keep-alive-expired');
      return 0;
    }
    const retiring = this.#lifetimes.first;
    if (retiring !== undefined && now >= retiring.retireAt) {
      this.#closer.retire(retiring);
      return 0;
    }
    const keepAlive = this.#options.keepAliveMs;
    const oldest = this.#idle.oldest;
    let delay: number;
    if (oldest === undefined) {
      if (this.#registry.size - this.#actors.connecting === 0) return -1;
      delay = keepAlive;
    } else {
      const idleFor = now - oldest.idleAt;
      if (idleFor >= keepAlive) {
        this.#closer.close(oldest, 'keep-alive-expired');
        return 0;
      }
      if (this.#idle.size > this.#options.maxIdleConnections) {
        this.#closer.close(oldest, 'idle-limit');
        return 0;
      }
      delay = keepAlive - idleFor;
      if (shortLived !== undefined && shortLived.expiresAt - now < delay) delay = shortLived.expiresAt - now;
    }
    if (retiring !== undefined && retiring.retireAt - now < delay) delay = retiring.retireAt - now;
    return delay;
  }

  /**
   * One tick of the cleanup loop: passes of `pool.cleanup` (the public method, so that a pool
   * that overrides it is cleaned its way) until one returns something other than 0. Never throws.
   */
  tick(now: number, pool: { cleanup(now: number): number }): CleanupTick {
    if (this.#state.value === 'closed') return { at: now, delay: -1, evicted: 0 };
    let evicted = 0;
    let delay: number;
    try {
      // 0 means "again at once": loop here rather than through a timer.
      for (;;) {
        delay = pool.cleanup(now);
        if (delay !== 0) break;
        evicted++;
      }
    } catch (error) {
      delay = CLEANUP_RETRY_MS;
      if (this.#emitter.wants('cleanup-failed')) this.#emitter.emit({ type: 'cleanup-failed', at: now, error: toError(error) });
    }
    return { at: now, delay, evicted };
  }
}
