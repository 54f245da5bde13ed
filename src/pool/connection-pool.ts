import type { Observable } from 'rxjs';
import type { AddressInput } from './address.js';
import { guardInspect } from './callback-failures.js';
import { CleanupLoop } from './cleanup-loop.js';
import { CleanupPolicy } from './cleanup-policy.js';
import { ConnectAttempts } from './connect-attempts.js';
import { ConnectionActors } from './connection-actors.js';
import { ConnectionCloser } from './connection-closer.js';
import { ConnectionPicker } from './connection-picker.js';
import { ConnectionRegistry } from './connection-registry.js';
import { AcquireAbortedError, InvalidOptionError, PoolClosedError } from './errors.js';
import type { CleanupTick, PoolEvent } from './events.js';
import { IdleIndex } from './idle-index.js';
import type { Lease } from './lease.js';
import { LeaseLedger, captureAcquireStack } from './lease-ledger.js';
import { LifetimeIndex } from './lifetime-index.js';
import { MultiplexedOrigins } from './multiplexed-origins.js';
import { resolvePoolOptions, type ConnectionPoolOptions, type ResolvedPoolOptions } from './options.js';
import { PoolDrain } from './pool-drain.js';
import { PoolEventEmitter } from './pool-event-emitter.js';
import { AddressBucket, Waiter, newTotals, type PoolTotals, type PooledConnection } from './pool-records.js';
import { PoolState } from './pool-state.js';
import type { AcquireOptions, CloseOptions, ConnectionInfo, PoolStats, RetryReport } from './pool-types.js';
import { ReleasePolicy } from './release-policy.js';
import { toError } from './to-error.js';
import { unrefTimerScheduler } from './unref-scheduler.js';
import { alpnOf, remoteAddressOf } from './transport-facts.js';
import { WaiterQueues } from './waiter-queues.js';

export type { AcquireOptions, CloseOptions, ConnectionInfo, PoolStats, RetryReport } from './pool-types.js';

/** An HTTP method is a token (RFC 9110 5.6.2); anything else is not reported as it is. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * An OkHttp-style connection pool: connections are reused per address, kept alive for
 * `keepAlive` while idle (at most `maxIdleConnections` of them), and cleaned up by one
 * RxJS stream whose every tick waits what the previous `cleanup(now)` returned.
 *
 * This class is a façade: the work is done by its parts (see docs/architecture.md), which it
 * makes and wires together.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool({ connector, maxIdleConnections: 10, keepAlive: '30s' });
 * pool.events$.subscribe((event) => console.log(event.type, event.address));
 * {
 *   using lease = await pool.acquire('https://api.example.com');
 *   // ... use lease.transport
 * }
 * await pool.close();
 * ```
 */
export class ConnectionPool {
  readonly #options: ResolvedPoolOptions;
  readonly #state = new PoolState();
  readonly #emitter = new PoolEventEmitter();
  readonly #totals: PoolTotals = newTotals();
  readonly #registry: ConnectionRegistry;
  readonly #idle = new IdleIndex();
  readonly #actors: ConnectionActors;
  readonly #loop: CleanupLoop;
  readonly #ledger: LeaseLedger;
  readonly #closer: ConnectionCloser;
  readonly #picker: ConnectionPicker;
  readonly #waiters: WaiterQueues;
  readonly #releases: ReleasePolicy;
  readonly #cleanup: CleanupPolicy;
  readonly #drain: PoolDrain;

  /**
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value.
   */
  constructor(options: ConnectionPoolOptions = {}) {
    const resolved = resolvePoolOptions(options, unrefTimerScheduler);
    const connector = resolved.connector;
    if (connector === undefined) {
      throw new InvalidOptionError(
        'connector',
        undefined,
        'a Connector; the engine (reactive-connection-pool/pool) has no default, use the package entry point for TCP/TLS',
      );
    }
    this.#options = resolved;
    const state = this.#state;
    const emitter = this.#emitter;
    const totals = this.#totals;
    const origins = new MultiplexedOrigins(resolved.multiplexedOrigins.max, resolved.multiplexedOrigins.forgetAfterMs);
    const registry = (this.#registry = new ConnectionRegistry(resolved.scheduler, origins));
    const idle = this.#idle;
    // A user's observer that throws must not throw out of the pool (see CallbackFailures).
    const actors = (this.#actors = new ConnectionActors(guardInspect(resolved.inspect, emitter.failures)));
    const lifetimes = new LifetimeIndex(resolved.maxLifetimeMs, resolved.random, emitter.failures);
    const loop = (this.#loop = new CleanupLoop(resolved.scheduler, (now) => this.#cleanup.tick(now, this)));
    // The parts call each other both ways (a release may close, a close may serve a waiter, a
    // waiter may connect); the arrows below close those loops once every part exists.
    const slotFreed = (connection: PooledConnection): void => this.#slotFreed(connection);
    const ledger = (this.#ledger = new LeaseLedger(resolved, emitter, totals, idle, actors, {
      released: (connection) => this.#releases.released(connection),
      markNoNewExchanges: (connection, reason) => this.#closer.markNoNewExchanges(connection, reason),
    }));
    const closer = (this.#closer = new ConnectionCloser(resolved, emitter, totals, registry, idle, lifetimes, origins, actors, ledger, slotFreed));
    const picker = (this.#picker = new ConnectionPicker(resolved, registry, idle, closer));
    const connects = new ConnectAttempts(
      resolved,
      connector,
      emitter,
      totals,
      registry,
      actors,
      picker,
      closer,
      ledger,
      lifetimes,
      origins,
      loop,
      () => this.#waiters,
      slotFreed,
    );
    const waiters = (this.#waiters = new WaiterQueues(resolved, state, emitter, totals, registry, picker, ledger, (waiter) =>
      connects.connect(waiter),
    ));
    this.#releases = new ReleasePolicy(resolved, state, idle, actors, closer, picker, waiters, loop);
    this.#cleanup = new CleanupPolicy(resolved, state, emitter, registry, actors, idle, lifetimes, closer);
    this.#drain = new PoolDrain(resolved, state, emitter, registry, actors, closer, ledger, waiters, loop);
  }

  /** Every event, synchronously and in the order things happen. Completes when the pool has closed. */
  get events$(): Observable<PoolEvent> {
    return this.#emitter.events$;
  }

  /** Every tick of the cleanup stream, with the delay it returned. */
  get cleanupTicks$(): Observable<CleanupTick> {
    return this.#loop.ticks$;
  }

  /** The options in force, durations in milliseconds. */
  get options(): ResolvedPoolOptions {
    return this.#options;
  }

  /**
   * Leases a connection to `address`: a pooled one if one fits (same address key, not
   * marked noNewExchanges, healthy, below its allocation limit; the most recently idle
   * first), else a new one from the connector. Under the connection limits, acquirers wait
   * in arrival order, up to `acquireTimeout`.
   *
   * @param address - a URL (`http:`, `https:`, `tcp:`, `tls:`) or `{ host, port, tls? }`.
   * @throws (rejects) `ERR_POOL_CLOSED`, `ERR_INVALID_ADDRESS`, `ERR_ACQUIRE_TIMEOUT`,
   * `ERR_ACQUIRE_ABORTED`, `ERR_CONNECT_TIMEOUT`, or the connector's own error.
   */
  acquire(address: AddressInput, options?: AcquireOptions): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => this.acquireWith(address, options, resolve, reject));
  }

  /**
   * `acquire` with callbacks instead of a promise, for clients that lease per request and
   * would rather not pay a promise and a turn of the event loop for each (the Dispatcher):
   * exactly one of `onLease` and `onError` is called, once, synchronously when the outcome
   * is known at once (a pooled connection fits, or the request is refused), else later.
   * The callbacks must not throw: they run inside the pool's bookkeeping.
   *
   * @throws (through `onError`) the errors `acquire` rejects with.
   */
  acquireWith(address: AddressInput, options: AcquireOptions | undefined, onLease: (lease: Lease) => void, onError: (error: Error) => void): void {
    let bucket: AddressBucket;
    try {
      bucket = this.#admissibleBucket(address, options);
    } catch (error) {
      onError(toError(error));
      return;
    }
    const signal = options?.signal;
    const reuse = options?.reuse ?? true;
    const coalesce = options?.coalesce ?? false;
    const now = this.#options.scheduler.now();
    // Taken here, in the caller's frame: after an async connect the caller is gone from the stack.
    const stack = this.#options.captureAcquireStacks ? captureAcquireStack() : undefined;
    if (bucket.waiters.size === 0 && reuse) {
      const connection = this.#picker.takeReusable(bucket);
      if (connection !== null) {
        onLease(this.#ledger.lend(connection, true, now, stack, now));
        return;
      }
    }
    this.#waiters.admit(new Waiter(bucket, now, signal, stack, onLease, onError, !reuse, coalesce));
  }

  /**
   * Leases a pooled connection to `address` at once if one fits (the same connection
   * `acquire` would reuse: idle, or multiplexed with room), or returns null without waiting
   * or connecting. The synchronous fast path of `acquire`, for clients that lease per request
   * (the Dispatcher): no promise, no turn of the event loop.
   *
   * `oldestFirst`: of the idle connections, take the one idle longest rather than the one
   * idle least (LIFO, the default), as an `http.Agent` with `scheduling: 'fifo'` does.
   *
   * @throws `ERR_POOL_CLOSED`, `ERR_INVALID_ADDRESS`.
   */
  acquireNow(address: AddressInput, oldestFirst = false): Lease | null {
    if (!this.#state.isOpen) throw new PoolClosedError();
    const bucket = this.#registry.bucketFor(address);
    if (bucket.waiters.size === 0) {
      const connection = this.#picker.takeReusable(bucket, oldestFirst);
      if (connection !== null) {
        const stack = this.#options.captureAcquireStacks ? captureAcquireStack() : undefined;
        const now = this.#options.scheduler.now();
        return this.#ledger.lend(connection, true, now, stack, now);
      }
    }
    this.#registry.forgetIfEmpty(bucket);
    return null;
  }

  /**
   * One pass of OkHttp's cleanup: evicts the connection idle longest if it has been idle
   * at least `keepAlive`, or if idle connections exceed `maxIdleConnections`, and returns 0.
   * Otherwise returns the ms until the next one expires, `keepAlive` if all are in use, or
   * -1 if the pool holds no open connection. O(1): the idle list is kept in idle order.
   */
  cleanup(now: number): number {
    return this.#cleanup.cleanup(now);
  }

  /** Connections in the pool, connecting ones included. */
  connectionCount(): number {
    return this.#registry.size;
  }

  /** Idle connections, as their actors say. */
  idleConnectionCount(): number {
    return this.#actors.counts().idle;
  }

  /** Closes every idle connection (reason `evict-all`) and returns how many. */
  evictAll(): number {
    let evicted = 0;
    for (let oldest = this.#idle.oldest; oldest !== undefined; oldest = this.#idle.oldest) {
      this.#closer.close(oldest, 'evict-all');
      evicted++;
    }
    return evicted;
  }

  /**
   * Evicts one connection (reason `evicted`): at once if idle; if leased, it takes no new
   * lease and closes when its last lease is released. Returns false for an unknown id.
   */
  evict(connectionId: string): boolean {
    const connection = this.#registry.get(connectionId);
    if (connection === undefined || connection.phase === 'evicted') return false;
    if (connection.isIdle) this.#closer.close(connection, 'evicted');
    else this.#closer.markNoNewExchanges(connection, 'evicted');
    return true;
  }

  /** Every connection now, as its actor says. */
  connections(): ConnectionInfo[] {
    this.#actors.flush();
    const infos: ConnectionInfo[] = [];
    for (const connection of this.#registry.values()) {
      const alpnProtocol = alpnOf(connection.transport);
      const remoteAddress = remoteAddressOf(connection.transport);
      infos.push({
        id: connection.id,
        address: String(connection.address),
        state: this.#actors.stateOf(connection),
        allocations: connection.allocations,
        allocationLimit: connection.allocationLimit,
        noNewExchanges: connection.noNewExchanges,
        healthy: this.#picker.isHealthy(connection),
        createdAt: connection.createdAt,
        idleAt: connection.isIdle ? connection.idleAt : null,
        ...(alpnProtocol === undefined ? {} : { alpnProtocol }),
        ...(remoteAddress === undefined ? {} : { remoteAddress }),
      });
    }
    return infos;
  }

  /** Counts by state, waiters, the cleanup stream's last tick and totals. */
  stats(): PoolStats {
    const counts = this.#actors.counts();
    const lastTick = this.#loop.lastTick;
    return {
      state: this.#state.value,
      connections: this.#registry.size,
      connecting: counts.connecting,
      idle: counts.idle,
      inUse: counts.inUse,
      leases: this.#ledger.count,
      waiters: this.#waiters.size,
      addresses: this.#registry.addressCount,
      cleanup: {
        lastTickAt: lastTick?.at ?? null,
        lastDelay: lastTick?.delay ?? null,
        nextTickAt: this.#loop.nextTickAt ?? null,
      },
      totals: { ...this.#totals },
    };
  }

  /**
   * Tells the pool that a transport's `allocationLimit` went up (an HTTP/2 peer raised
   * MAX_CONCURRENT_STREAMS), so that waiters for its address can share it now.
   */
  notifyCapacityChanged(connectionId: string): void {
    const connection = this.#registry.get(connectionId);
    if (connection !== undefined) this.#waiters.capacityRose(connection);
  }

  /**
   * Reports that the request `lease` carried is being sent again on a new connection (an
   * event of type `retry`, naming the lease's connection and address). For the layers above
   * the pool, whose retry policy this is; the lease may be released already.
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) if `lease` is not a lease of this pool.
   */
  reportRetry(lease: Lease, report: RetryReport): void {
    const connection = this.#ledger.connectionOf(lease);
    if (connection === undefined) throw new InvalidOptionError('lease', lease, 'a lease of this pool');
    if (!this.#emitter.wants('retry')) return;
    this.#emitter.emit({
      type: 'retry',
      at: this.#options.scheduler.now(),
      connectionId: connection.id,
      address: String(connection.address),
      // Only a token: an event never carries free text from a request.
      method: typeof report.method === 'string' && HTTP_TOKEN.test(report.method) ? report.method : 'OTHER',
      reason: report.reason,
    });
  }

  /**
   * Closes the pool: new acquires fail with `ERR_POOL_CLOSED`, waiters are rejected, idle
   * connections and connects in flight are closed, leases are waited for up to the drain
   * timeout and then closed anyway, and the cleanup stream stops. Resolves when nothing is
   * left open. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    return this.#drain.close(options.timeout);
  }

  /** `await using pool = new ConnectionPool(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The bucket of `address` for an acquire with `options`, or throws why the acquire is
   * refused at once: `ERR_POOL_CLOSED`, `ERR_INVALID_ADDRESS`, `ERR_INVALID_OPTION`, or
   * `ERR_ACQUIRE_ABORTED` for a signal already aborted.
   */
  #admissibleBucket(address: AddressInput, options: AcquireOptions | undefined): AddressBucket {
    if (!this.#state.isOpen) throw new PoolClosedError();
    const bucket = this.#registry.bucketFor(address);
    const signal = options?.signal;
    const reuse = options?.reuse ?? true;
    const coalesce = options?.coalesce ?? false;
    if (typeof reuse !== 'boolean') throw new InvalidOptionError('reuse', reuse, 'true or false');
    if (typeof coalesce !== 'boolean') throw new InvalidOptionError('coalesce', coalesce, 'true or false');
    if (signal !== undefined) {
      if (!(signal instanceof AbortSignal)) throw new InvalidOptionError('signal', signal, 'an AbortSignal');
      if (signal.aborted) {
        this.#registry.forgetIfEmpty(bucket);
        throw new AcquireAbortedError(String(bucket.address), signal.reason);
      }
    }
    return bucket;
  }

  /** A connection left the pool: its slot may go to a waiter, its address may be forgotten, a drain may be over. */
  #slotFreed(connection: PooledConnection): void {
    if (this.#state.isOpen && this.#waiters.waiting > 0) this.#waiters.serve();
    this.#registry.forgetIfEmpty(connection.bucket);
    if (!this.#state.isOpen) this.#drain.checkDrained();
  }
}
