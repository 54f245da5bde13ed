import { Subject, type Observable, type Subscription } from 'rxjs';
import { createActor, fromCallback, type AnyActorRef } from 'xstate';
import { AddressBucket } from './address-bucket.js';
import { AddressResolver, type AddressInput } from './address.js';
import { CleanupLoop } from './cleanup-loop.js';
import { connectionMachine, type ConnectionMachineEvent, type ConnectionState } from './connection.machine.js';
import { parseDuration, type Duration } from './duration.js';
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  ConnectTimeoutError,
  ConnectorResultError,
  InvalidOptionError,
  PoolClosedError,
} from './errors.js';
import type { CleanupTick, CloseReason, PoolEvent, RetryReason } from './events.js';
import { ExpiryHeap } from './expiry-heap.js';
import { DeadlineQueue } from './deadline-queue.js';
import { LeaseHolder, LeaseSlot, PoolLease, type Lease, type LeaseOwner } from './lease.js';
import { LinkedList } from './linked-list.js';
import { resolvePoolOptions, type ConnectionPoolOptions, type ResolvedPoolOptions } from './options.js';
import { PooledConnection, type ConnectionView } from './pooled-connection.js';
import type { ConnectionHooks, Connector, Transport } from './transport.js';
import { unrefTimerScheduler } from './unref-scheduler.js';
import { Waiter } from './waiter.js';

/** One connection as `connections()` reports it. */
export interface ConnectionInfo {
  readonly id: string;
  /** The redacted address. */
  readonly address: string;
  /** What the connection's actor says now. */
  readonly state: ConnectionState;
  readonly allocations: number;
  readonly allocationLimit: number;
  readonly noNewExchanges: boolean;
  /** What the transport's `isHealthy()` says now (true while connecting). */
  readonly healthy: boolean;
  /** When the connect began (scheduler ms). */
  readonly createdAt: number;
  /** When it last became idle, or null while connecting or in use. */
  readonly idleAt: number | null;
  /** The protocol agreed by ALPN (`'h2'`, `'http/1.1'`), when the transport says (see `Transport.alpnProtocol`). */
  readonly alpnProtocol?: string;
}

/** A snapshot of the pool, as its connection actors say it is. */
export interface PoolStats {
  readonly state: 'open' | 'closing' | 'closed';
  /** Every connection, connecting ones included. */
  readonly connections: number;
  readonly connecting: number;
  readonly idle: number;
  readonly inUse: number;
  /** Leases held now. */
  readonly leases: number;
  /** Acquirers waiting for a slot. */
  readonly waiters: number;
  /** Addresses with a connection or a waiter. */
  readonly addresses: number;
  readonly cleanup: {
    readonly lastTickAt: number | null;
    readonly lastDelay: number | null;
    /** When the next tick is due, or null while the loop is stopped (nothing to clean). */
    readonly nextTickAt: number | null;
  };
  /** Counts since the pool was made. */
  readonly totals: {
    readonly connects: number;
    readonly connectFailures: number;
    readonly acquired: number;
    readonly reused: number;
    readonly released: number;
    readonly closed: number;
    readonly leaked: number;
    readonly acquireTimeouts: number;
  };
}

/** Options of one `acquire()`. */
export interface AcquireOptions {
  /** Aborting it rejects the acquire (`ERR_ACQUIRE_ABORTED`), while waiting or connecting. */
  readonly signal?: AbortSignal;
  /**
   * `false`: take no idle pooled connection but connect a new one, e.g. to send again a
   * request that failed on a connection the server had closed while it sat idle (its
   * siblings, idle as long, may be closed too). When the connection limits stop it, an idle
   * connection of the same address is closed to make room (reason `capacity`); if there is
   * none it waits in line like any acquirer and may be handed a connection another lease has
   * just released (one that has just served an exchange). Default `true`.
   */
  readonly reuse?: boolean;
  /**
   * `true`: share multiplexed (HTTP/2) connections as much as their limits allow.
   * - When the connection made for this acquirer turns out multiplexed and its address
   *   meanwhile has another multiplexed connection with room, the acquirer takes a lease on
   *   that one and the new connection is closed (reason `coalesced`), as OkHttp does: the
   *   first requests to a new HTTP/2 origin end up on one connection.
   * - When the address is known to be multiplexed (its last connection was) and connects to
   *   it are in flight, the acquirer waits for them, up to what their limit will carry,
   *   rather than open a connection of its own.
   *
   * Default `false`: each acquirer that finds nothing to reuse opens its own connection.
   */
  readonly coalesce?: boolean;
}

/** What `reportRetry` says about a request sent again. */
export interface RetryReport {
  /** The request's method; anything but an HTTP token is reported as `OTHER`. */
  readonly method: string;
  readonly reason: RetryReason;
}

/** Options of `close()`. */
export interface CloseOptions {
  /** How long to wait for leases before closing them anyway; defaults to the pool's `drainTimeout`. */
  readonly timeout?: Duration;
}

/** If a cleanup pass throws, the loop tries again after this long. */
const CLEANUP_RETRY_MS = 1_000;
const ACQUIRE_EVENT: ConnectionMachineEvent = { type: 'ACQUIRE' };
const RELEASE_EVENT: ConnectionMachineEvent = { type: 'RELEASE' };

/**
 * An OkHttp-style connection pool: connections are reused per address, kept alive for
 * `keepAlive` while idle (at most `maxIdleConnections` of them), and cleaned up by one
 * RxJS stream whose every tick waits what the previous `cleanup(now)` returned.
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
  readonly #connector: Connector;
  readonly #resolver = new AddressResolver();
  readonly #buckets = new Map<string, AddressBucket>();
  readonly #connections = new Map<string, PooledConnection>();
  /** Every idle connection, in the order it became idle: the head is idle longest. */
  readonly #idle = new LinkedList<PooledConnection>();
  /** Idle connections whose own life is shorter than keepAlive, earliest expiry first. */
  readonly #shortLived = new ExpiryHeap<PooledConnection>();
  /** Every waiter, in arrival order (each is also in its address's queue). */
  readonly #waiters = new LinkedList<Waiter>();
  /** Every parked waiter (see `AddressBucket.parked`), in arrival order. */
  readonly #parked = new LinkedList<Waiter>();
  readonly #events = new Subject<PoolEvent>();
  readonly #loop: CleanupLoop;
  /** Connection actors are its children, so they share one actor system (and inspector). */
  readonly #actorRoot: AnyActorRef;
  readonly #registry: FinalizationRegistry<LeaseSlot>;
  /** Leases watched by leakDetectionThreshold (null when it is off). */
  readonly #heldTooLong: DeadlineQueue<LeaseSlot> | null;
  /** Acquirers waiting in line, by acquireTimeout (null when it is Infinity). */
  readonly #acquireDeadlines: DeadlineQueue<Waiter> | null;
  /** Connections whose actor lags behind their allocations, synced before any read. */
  readonly #dirty: PooledConnection[] = [];
  /** Connections by what their actor says (evicted ones have left the pool). */
  readonly #actorStates = { connecting: 0, idle: 0, inUse: 0 };
  readonly #eagerActors: boolean;
  readonly #owner: LeaseOwner;
  #nextId = 1;
  #leases = 0;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closed: Promise<void> | null = null;
  #finishClose: (() => void) | null = null;
  #drainTimer: Subscription | null = null;
  #forcedOnClose = 0;
  #serving = false;
  #serveAgain = false;
  readonly #totals = {
    connects: 0,
    connectFailures: 0,
    acquired: 0,
    reused: 0,
    released: 0,
    closed: 0,
    leaked: 0,
    acquireTimeouts: 0,
  };

  /**
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value.
   */
  constructor(options: ConnectionPoolOptions = {}) {
    this.#options = resolvePoolOptions(options, unrefTimerScheduler);
    if (this.#options.connector === undefined) {
      throw new InvalidOptionError(
        'connector',
        undefined,
        'a Connector; the engine (reactive-connection-pool/pool) has no default, use the package entry point for TCP/TLS',
      );
    }
    this.#connector = this.#options.connector;
    this.#eagerActors = this.#options.inspect !== undefined;
    const root = createActor(fromCallback(() => undefined), this.#options.inspect ? { inspect: this.#options.inspect } : {});
    root.start();
    this.#actorRoot = root;
    this.#loop = new CleanupLoop(this.#options.scheduler, (now) => this.#tick(now));
    this.#registry = new FinalizationRegistry((slot) => this.#onLeaseCollected(slot));
    const { scheduler, leakDetectionThresholdMs, acquireTimeoutMs } = this.#options;
    this.#heldTooLong =
      leakDetectionThresholdMs === undefined
        ? null
        : new DeadlineQueue<LeaseSlot>(
            scheduler,
            (slot) => slot.acquiredAt + leakDetectionThresholdMs,
            (slot, now) => this.#onHeldTooLong(slot, now),
          );
    // One timer for every waiter (they share acquireTimeout), not one each: see DeadlineQueue.
    this.#acquireDeadlines =
      acquireTimeoutMs === Infinity
        ? null
        : new DeadlineQueue<Waiter>(
            scheduler,
            (waiter) => waiter.startedAt + acquireTimeoutMs,
            (waiter) => this.#timeOut(waiter),
          );
    this.#owner = {
      releaseLease: (_lease, holder) => this.#releaseLease(holder),
      markNoNewExchanges: (connection) => this.#markNoNewExchanges(connection, 'no-new-exchanges'),
      viewOf: (connection) => this.#viewOf(connection),
    };
  }

  /** Every event, synchronously and in the order things happen. Completes when the pool has closed. */
  get events$(): Observable<PoolEvent> {
    return this.#events.asObservable();
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
    const stack = this.#options.captureAcquireStacks ? captureStack() : undefined;
    if (bucket.waiters.size === 0 && reuse) {
      const connection = this.#takeReusable(bucket);
      if (connection !== null) {
        onLease(this.#lend(connection, true, now, stack, now));
        return;
      }
    }
    this.#admit(new Waiter(bucket, now, signal, stack, onLease, onError, !reuse, coalesce));
  }

  /**
   * The bucket of `address` for an acquire with `options`, or throws why the acquire is
   * refused at once: `ERR_POOL_CLOSED`, `ERR_INVALID_ADDRESS`, `ERR_INVALID_OPTION`, or
   * `ERR_ACQUIRE_ABORTED` for a signal already aborted.
   */
  #admissibleBucket(address: AddressInput, options: AcquireOptions | undefined): AddressBucket {
    if (this.#state !== 'open') throw new PoolClosedError();
    const bucket = this.#bucketFor(address);
    const signal = options?.signal;
    const reuse = options?.reuse ?? true;
    const coalesce = options?.coalesce ?? false;
    if (typeof reuse !== 'boolean') throw new InvalidOptionError('reuse', reuse, 'true or false');
    if (typeof coalesce !== 'boolean') throw new InvalidOptionError('coalesce', coalesce, 'true or false');
    if (signal !== undefined) {
      if (!(signal instanceof AbortSignal)) throw new InvalidOptionError('signal', signal, 'an AbortSignal');
      if (signal.aborted) {
        this.#forgetBucketIfEmpty(bucket);
        throw new AcquireAbortedError(String(bucket.address), signal.reason);
      }
    }
    return bucket;
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
    if (this.#state !== 'open') throw new PoolClosedError();
    const bucket = this.#bucketFor(address);
    if (bucket.waiters.size === 0) {
      const connection = this.#takeReusable(bucket, oldestFirst);
      if (connection !== null) {
        const stack = this.#options.captureAcquireStacks ? captureStack() : undefined;
        const now = this.#options.scheduler.now();
        return this.#lend(connection, true, now, stack, now);
      }
    }
    this.#forgetBucketIfEmpty(bucket);
    return null;
  }

  /**
   * One pass of OkHttp's cleanup: evicts the connection idle longest if it has been idle
   * at least `keepAlive`, or if idle connections exceed `maxIdleConnections`, and returns 0.
   * Otherwise returns the ms until the next one expires, `keepAlive` if all are in use, or
   * -1 if the pool holds no open connection. O(1): the idle list is kept in idle order.
   */
  cleanup(now: number): number {
    // Connections that the peer allows less than keepAlive (see Transport.idleTimeout) go
    // first when due; without them this is exactly OkHttp's algorithm.
    const shortLived = this.#shortLived.peek();
    if (shortLived !== undefined && now >= shortLived.expiresAt) {
      this.#close(shortLived, 'keep-alive-expired');
      return 0;
    }
    const oldest = this.#idle.head?.value;
    if (oldest === undefined) return this.#openCount() > 0 ? this.#options.keepAliveMs : -1;
    const idleFor = now - oldest.idleAt;
    const keepAlive = this.#options.keepAliveMs;
    if (idleFor >= keepAlive) {
      this.#close(oldest, 'keep-alive-expired');
      return 0;
    }
    if (this.#idle.size > this.#options.maxIdleConnections) {
      this.#close(oldest, 'idle-limit');
      return 0;
    }
    const delay = keepAlive - idleFor;
    return shortLived === undefined ? delay : Math.min(delay, shortLived.expiresAt - now);
  }

  /** Connections in the pool, connecting ones included. */
  connectionCount(): number {
    return this.#connections.size;
  }

  /** Idle connections, as their actors say. */
  idleConnectionCount(): number {
    this.#flushActors();
    return this.#actorStates.idle;
  }

  /** Closes every idle connection (reason `evict-all`) and returns how many. */
  evictAll(): number {
    let evicted = 0;
    while (this.#idle.head) {
      this.#close(this.#idle.head.value, 'evict-all');
      evicted++;
    }
    return evicted;
  }

  /**
   * Evicts one connection (reason `evicted`): at once if idle; if leased, it takes no new
   * lease and closes when its last lease is released. Returns false for an unknown id.
   */
  evict(connectionId: string): boolean {
    const connection = this.#connections.get(connectionId);
    if (connection === undefined || connection.phase === 'evicted') return false;
    if (connection.isIdle) this.#close(connection, 'evicted');
    else this.#markNoNewExchanges(connection, 'evicted');
    return true;
  }

  /** Every connection now, as its actor says. */
  connections(): ConnectionInfo[] {
    this.#flushActors();
    const infos: ConnectionInfo[] = [];
    for (const connection of this.#connections.values()) {
      const alpnProtocol = alpnOf(connection.transport);
      infos.push({
        id: connection.id,
        address: String(connection.address),
        state: connection.actor.getSnapshot().value as ConnectionState,
        allocations: connection.allocations,
        allocationLimit: connection.allocationLimit,
        noNewExchanges: connection.noNewExchanges,
        healthy: this.#isHealthy(connection),
        createdAt: connection.createdAt,
        idleAt: connection.isIdle ? connection.idleAt : null,
        ...(alpnProtocol === undefined ? {} : { alpnProtocol }),
      });
    }
    return infos;
  }

  /** Counts by state, waiters, the cleanup stream's last tick and totals. */
  stats(): PoolStats {
    this.#flushActors();
    const lastTick = this.#loop.lastTick;
    return {
      state: this.#state,
      connections: this.#connections.size,
      connecting: this.#actorStates.connecting,
      idle: this.#actorStates.idle,
      inUse: this.#actorStates.inUse,
      leases: this.#leases,
      waiters: this.#waiters.size + this.#parked.size,
      addresses: this.#buckets.size,
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
    const connection = this.#connections.get(connectionId);
    if (connection === undefined || connection.phase !== 'open' || connection.noNewExchanges) return;
    connection.bucket.multiplexLimit = connection.allocationLimit;
    if (connection.allocations > 0) this.#shareWithWaiters(connection);
  }

  /**
   * Reports that the request `lease` carried is being sent again on a new connection (an
   * event of type `retry`, naming the lease's connection and address). For the layers above
   * the pool, whose retry policy this is; the lease may be released already.
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) if `lease` is not a lease of this pool.
   */
  reportRetry(lease: Lease, report: RetryReport): void {
    const connection = PoolLease.connectionOf(lease, this.#owner);
    if (connection === undefined) throw new InvalidOptionError('lease', lease, 'a lease of this pool');
    if (!this.#events.observed) return;
    this.#emit({
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
    if (this.#closed !== null) return this.#closed;
    let drainMs: number;
    try {
      drainMs = options.timeout === undefined ? this.#options.drainTimeoutMs : parseDuration('timeout', options.timeout, true);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#state = 'closing';
    this.#closed = new Promise<void>((resolve) => {
      this.#finishClose = resolve;
    });
    const now = this.#options.scheduler.now();
    if (this.#events.observed) this.#emit({ type: 'pool-closing', at: now, leases: this.#leases });
    for (const list of [this.#waiters, this.#parked]) {
      while (list.head) {
        const waiter = list.head.value;
        this.#dequeue(waiter);
        this.#settleWaiter(waiter, new PoolClosedError('it closed while this acquire was waiting'));
        this.#forgetBucketIfEmpty(waiter.bucket);
      }
    }
    for (const connection of [...this.#connections.values()]) {
      if (connection.phase === 'connecting') connection.connectAbort?.abort(new PoolClosedError('it closed during this connect'));
      else if (connection.allocations === 0) this.#close(connection, 'pool-closed', false);
    }
    if (this.#connections.size > 0 && drainMs !== Infinity) {
      this.#drainTimer = this.#options.scheduler.schedule(() => this.#forceClose(), drainMs);
    }
    this.#checkDrained();
    return this.#closed;
  }

  /** `await using pool = new ConnectionPool(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- acquiring -------------------------------------------------------------------------

  #bucketFor(input: AddressInput): AddressBucket {
    const address = this.#resolver.resolve(input);
    let bucket = this.#buckets.get(address.key);
    if (bucket === undefined) {
      bucket = new AddressBucket(address);
      this.#buckets.set(address.key, bucket);
    }
    return bucket;
  }

  /** A pooled connection of `bucket` that can take a lease now, or null. Evicts unhealthy ones it meets. */
  #takeReusable(bucket: AddressBucket, oldestFirst = false): PooledConnection | null {
    for (let node = oldestFirst ? bucket.idle.head : bucket.idle.tail; node !== null; node = oldestFirst ? bucket.idle.head : bucket.idle.tail) {
      const connection = node.value;
      if (this.#isHealthy(connection)) return connection;
      this.#close(connection, 'unhealthy');
    }
    while (bucket.multiplexed.size > 0) {
      let best: PooledConnection | null = null;
      for (const connection of bucket.multiplexed) {
        if (
          !connection.noNewExchanges &&
          connection.allocations < connection.allocationLimit &&
          (best === null || connection.allocations < best.allocations)
        ) {
          best = connection;
        }
      }
      if (best === null) return null;
      if (this.#isHealthy(best)) return best;
      this.#close(best, 'unhealthy');
    }
    return null;
  }

  #isHealthy(connection: PooledConnection): boolean {
    const transport = connection.transport;
    if (transport === null || transport.isHealthy === undefined) return true;
    try {
      return transport.isHealthy() !== false;
    } catch {
      return false;
    }
  }

  /**
   * Hands a lease on `connection` out at `now` (the scheduler's; callers mostly have it at
   * hand already). The caller checked that the connection can take one.
   */
  #lend(connection: PooledConnection, reused: boolean, startedAt: number, stack: string | undefined, now: number): Lease {
    if (connection.isIdle) this.#leaveIdle(connection);
    connection.allocations++;
    this.#leases++;
    if (connection.allocationLimit > 1 && !connection.noNewExchanges) connection.bucket.multiplexed.add(connection);
    this.#touchActor(connection);
    const holder = connection.freeHolders.pop() ?? this.#newHolder(connection);
    const slot = holder.slot;
    slot.live = true;
    slot.acquiredAt = now;
    slot.stack = stack;
    this.#heldTooLong?.add(slot.watchNode);
    this.#totals.acquired++;
    if (reused) this.#totals.reused++;
    if (this.#events.observed) {
      this.#emit({
        type: 'connection-acquired',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        reused,
        allocations: connection.allocations,
        allocationLimit: connection.allocationLimit,
        waitedMs: now - startedAt,
      });
    }
    return new PoolLease(this.#owner, connection, holder, reused);
  }

  #newHolder(connection: PooledConnection): LeaseHolder {
    const slot = new LeaseSlot(connection);
    const holder = new LeaseHolder(slot);
    this.#registry.register(holder, slot, slot);
    return holder;
  }

  /** An acquirer that found nothing to reuse: connect now, make room, or wait in line. */
  #admit(waiter: Waiter): void {
    const bucket = waiter.bucket;
    if (waiter.coalesce && bucket.parked.size < bucket.coverage) {
      this.#enqueue(waiter, true);
      return;
    }
    if (bucket.waiters.size === 0 && this.#roomFor(waiter)) {
      this.#connect(waiter);
      return;
    }
    this.#enqueue(waiter);
  }

  /** Whether `waiter` may connect now, making room if it can. */
  #roomFor(waiter: Waiter): boolean {
    const bucket = waiter.bucket;
    return this.#canOpen(bucket) || this.#makeRoomFor(bucket) || (waiter.fresh && this.#makeRoomInOwnBucket(bucket));
  }

  /**
   * For an acquirer that wants a new connection (`reuse: false`): closes the connection of
   * its own address idle longest, if it has one, so that it can connect.
   */
  #makeRoomInOwnBucket(bucket: AddressBucket): boolean {
    const victim = bucket.idle.head?.value;
    if (victim === undefined) return false;
    this.#close(victim, 'capacity', false);
    return this.#canOpen(bucket);
  }

  #canOpen(bucket: AddressBucket): boolean {
    return bucket.count < this.#options.maxConnectionsPerAddress && this.#connections.size < this.#options.maxConnections;
  }

  /**
   * When only the total cap stops `bucket` and it has no connection of its own to wait
   * for, closes the connection idle longest (of another address) to make room.
   */
  #makeRoomFor(bucket: AddressBucket): boolean {
    if (bucket.count !== 0 || bucket.count >= this.#options.maxConnectionsPerAddress) return false;
    const victim = this.#idle.head?.value;
    if (victim === undefined) return false;
    this.#close(victim, 'capacity', false);
    return this.#canOpen(bucket);
  }

  /** Puts `waiter` in line (or, `parked`, with those waiting for a connect in flight), with its timer and signal armed. */
  #enqueue(waiter: Waiter, parked = false): void {
    this.#adopt(waiter.bucket);
    this.#line(waiter, parked);
    this.#acquireDeadlines?.add(waiter.deadlineNode);
    const signal = waiter.signal;
    if (signal !== undefined) {
      const onAbort = (): void => {
        if (waiter.settled) return;
        this.#dequeue(waiter);
        this.#settleWaiter(waiter, new AcquireAbortedError(String(waiter.bucket.address), signal.reason));
        this.#forgetBucketIfEmpty(waiter.bucket);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  #line(waiter: Waiter, parked: boolean): void {
    waiter.parked = parked;
    (parked ? waiter.bucket.parked : waiter.bucket.waiters).push(waiter.bucketNode);
    (parked ? this.#parked : this.#waiters).push(waiter.poolNode);
  }

  #dequeue(waiter: Waiter): void {
    const parked = waiter.parked;
    (parked ? waiter.bucket.parked : waiter.bucket.waiters).remove(waiter.bucketNode);
    (parked ? this.#parked : this.#waiters).remove(waiter.poolNode);
    waiter.parked = false;
  }

  /**
   * Parked waiters beyond what the connects in flight will carry (one failed, or turned out
   * not multiplexed, or has no room left) are admitted again: they reuse, connect, or wait
   * in line, their timers still running.
   */
  #unparkExcess(bucket: AddressBucket): void {
    while (bucket.parked.size > bucket.coverage && this.#state === 'open') {
      const waiter = (bucket.parked.head as NonNullable<typeof bucket.parked.head>).value;
      this.#dequeue(waiter);
      const reusable = this.#takeReusable(bucket);
      if (reusable !== null) {
        this.#handOver(waiter, reusable);
        continue;
      }
      if (bucket.waiters.size === 0 && this.#roomFor(waiter)) {
        this.#connect(waiter);
        continue;
      }
      this.#line(waiter, false);
    }
  }

  /** Stops `waiter`'s acquireTimeout and its signal listener: it is about to be settled. */
  #disarm(waiter: Waiter): void {
    this.#acquireDeadlines?.remove(waiter.deadlineNode);
    waiter.detachSignal?.();
    waiter.detachSignal = null;
  }

  #settleWaiter(waiter: Waiter, error: Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    this.#disarm(waiter);
    waiter.reject(error);
  }

  #timeOut(waiter: Waiter): void {
    if (waiter.settled) return;
    const parked = waiter.parked;
    this.#dequeue(waiter);
    this.#totals.acquireTimeouts++;
    const bucket = waiter.bucket;
    const perAddress = this.#options.maxConnectionsPerAddress;
    const detail = parked
      ? 'the multiplexed connection being made for it did not come'
      : bucket.count >= perAddress
        ? `all ${bucket.count} connections allowed by maxConnectionsPerAddress are in use`
        : `the pool holds maxConnections=${this.#options.maxConnections} connections, all in use`;
    if (this.#events.observed) {
      const now = this.#options.scheduler.now();
      this.#emit({ type: 'acquire-timeout', at: now, address: String(bucket.address), waitedMs: now - waiter.startedAt });
    }
    this.#settleWaiter(waiter, new AcquireTimeoutError(String(bucket.address), this.#options.acquireTimeoutMs, detail));
    this.#forgetBucketIfEmpty(bucket);
  }

  /** Gives `connection` (which can take a lease) to the first waiter of its address. */
  #handOver(waiter: Waiter, connection: PooledConnection): void {
    this.#dequeue(waiter);
    waiter.settled = true;
    this.#disarm(waiter);
    waiter.resolve(this.#lend(connection, true, waiter.startedAt, waiter.stack, this.#options.scheduler.now()));
  }

  /** Multiplexed connections take more leases: serve this address's waiters (those in line, then the parked ones) while it can. */
  #shareWithWaiters(connection: PooledConnection): void {
    const { waiters, parked } = connection.bucket;
    while (waiters.head !== null && connection.allocations < connection.allocationLimit && !connection.noNewExchanges) {
      this.#handOver(waiters.head.value, connection);
    }
    while (parked.head !== null && connection.allocations < connection.allocationLimit && !connection.noNewExchanges) {
      this.#handOver(parked.head.value, connection);
    }
  }

  /**
   * Serves waiters after a slot was freed or a connection became idle: the first waiter of
   * each address, in arrival order, reuses, connects, or takes the room of an idle
   * connection of another address when it has nothing of its own to wait for.
   */
  #serveWaiters(): void {
    if (this.#serving) {
      this.#serveAgain = true;
      return;
    }
    this.#serving = true;
    try {
      do {
        this.#serveAgain = false;
        for (let node = this.#waiters.head; node !== null && this.#state === 'open'; ) {
          const waiter = node.value;
          const next = node.next;
          const bucket = waiter.bucket;
          if (bucket.waiters.head !== waiter.bucketNode) {
            node = next;
            continue;
          }
          const reusable = waiter.fresh ? null : this.#takeReusable(bucket);
          if (reusable !== null) {
            this.#handOver(waiter, reusable);
            this.#shareWithWaiters(reusable);
            node = this.#waiters.head;
            continue;
          }
          if (this.#roomFor(waiter)) {
            this.#dequeue(waiter);
            this.#connect(waiter);
            node = this.#waiters.head;
            continue;
          }
          node = next;
        }
      } while (this.#serveAgain);
    } finally {
      this.#serving = false;
    }
  }

  // ---- connecting ------------------------------------------------------------------------

  #connect(waiter: Waiter): void {
    const bucket = waiter.bucket;
    const scheduler = this.#options.scheduler;
    const id = `c${this.#nextId++}`;
    const actor = createActor(connectionMachine, {
      parent: this.#actorRoot,
      input: { id },
    });
    actor.start();
    const connection = new PooledConnection(id, bucket, scheduler.now(), actor);
    this.#adopt(bucket);
    bucket.count++;
    bucket.connecting++;
    this.#connections.set(id, connection);
    this.#actorStates.connecting++;
    this.#totals.connects++;
    if (this.#events.observed) {
      this.#emit({ type: 'connect-start', at: connection.createdAt, connectionId: id, address: String(bucket.address) });
    }

    // The acquire timeout covers waiting for a slot; from here the connect timeout applies.
    this.#disarm(waiter);
    const abort = new AbortController();
    connection.connectAbort = abort;
    const fail = (error: Error): void => this.#failConnect(connection, waiter, error);
    const onConnectAborted = (): void => fail(toError(abort.signal.reason));
    abort.signal.addEventListener('abort', onConnectAborted, { once: true });
    let timeout: Subscription | null = null;
    if (this.#options.connectTimeoutMs !== Infinity) {
      timeout = scheduler.schedule(() => {
        // A timer that fires late (the event loop was blocked while the connect completed)
        // runs before the I/O that waited with it: look once more after that I/O has been
        // read, and give up only if the connect is still not done (as undici does: its issue
        // 3410). In virtual time this second look runs at the same instant.
        timeout = scheduler.schedule(() => abort.abort(new ConnectTimeoutError(String(bucket.address), this.#options.connectTimeoutMs)), 0);
      }, this.#options.connectTimeoutMs);
    }
    const signal = waiter.signal;
    if (signal !== undefined) {
      const onAbort = (): void => abort.abort(new AcquireAbortedError(String(bucket.address), signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
    // A transport may keep the signal for its whole life (net.connect does): nothing that
    // reaches the acquirer's lease may hang off it, or the lease could never be collected
    // and its leak never seen.
    const settle = (): void => {
      timeout?.unsubscribe();
      abort.signal.removeEventListener('abort', onConnectAborted);
      waiter.detachSignal?.();
      waiter.detachSignal = null;
    };

    let attempt: Promise<Transport>;
    try {
      attempt = Promise.resolve(
        this.#connector.connect(bucket.address, {
          signal: abort.signal,
          connectionId: id,
          scheduler,
          hooks: this.#hooksFor(connection),
        }),
      );
    } catch (error) {
      attempt = Promise.reject(error);
    }
    attempt.then(
      (transport) => {
        settle();
        this.#onConnected(connection, waiter, transport);
      },
      (error: unknown) => {
        settle();
        fail(toError(error));
      },
    );
  }

  /** What the transport of `connection` may call for as long as it lives (see {@link ConnectionHooks}). */
  #hooksFor(connection: PooledConnection): ConnectionHooks {
    return {
      capacityChanged: () => this.notifyCapacityChanged(connection.id),
      noNewExchanges: (reason) => this.#markNoNewExchanges(connection, reason === 'unhealthy' ? 'unhealthy' : 'no-new-exchanges'),
    };
  }

  #onConnected(connection: PooledConnection, waiter: Waiter, transport: Transport): void {
    if (connection.phase !== 'connecting') {
      // The connect was given up (timeout, abort, pool closed) but the connector finished
      // anyway: this transport never joined the pool, so close it here.
      closeQuietly(transport);
      return;
    }
    if (typeof transport !== 'object' || transport === null || typeof transport.close !== 'function') {
      this.#failConnect(connection, waiter, new ConnectorResultError(String(connection.address), transport));
      return;
    }
    const now = this.#options.scheduler.now();
    connection.connectAbort = null;
    connection.transport = transport;
    connection.phase = 'open';
    connection.bucket.connecting--;
    connection.connectedAt = now;
    connection.actor.send({ type: 'CONNECTED', transport });
    this.#actorStates.connecting--;
    this.#actorStates.idle++;
    connection.actorState = 'idle';
    if (typeof transport.on === 'function') {
      const onClose = (): void => this.#onPeerClosed(connection);
      connection.closeListener = onClose;
      transport.on('close', onClose);
    }
    if (this.#events.observed) {
      const alpnProtocol = alpnOf(transport);
      this.#emit({
        type: 'connect-end',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        durationMs: now - connection.createdAt,
        ...(alpnProtocol === undefined ? {} : { alpnProtocol }),
      });
    }
    waiter.settled = true;
    const bucket = connection.bucket;
    const limit = connection.allocationLimit;
    bucket.multiplexLimit = limit;
    const shared = waiter.coalesce && limit > 1 ? this.#coalesceTarget(connection) : null;
    if (shared !== null) {
      // OkHttp's answer to concurrent connects to an HTTP/2 origin: the acquirer joins the
      // connection that has room, and the one made for it goes.
      waiter.resolve(this.#lend(shared, true, waiter.startedAt, waiter.stack, now));
      this.#shareWithWaiters(shared);
      this.#close(connection, 'coalesced');
    } else {
      waiter.resolve(this.#lend(connection, false, waiter.startedAt, waiter.stack, now));
      // OkHttp's put(): a new connection (re)starts the cleanup loop.
      if (this.#loop.isStopped) this.#loop.wake();
      if (limit > 1) this.#shareWithWaiters(connection);
    }
    if (bucket.parked.size > 0) this.#unparkExcess(bucket);
  }

  /**
   * Another multiplexed connection of `connection`'s address that can take a lease now: an
   * idle one, else the least loaded one in use. Null if there is none (unhealthy ones are
   * left for the next acquire to deal with).
   */
  #coalesceTarget(connection: PooledConnection): PooledConnection | null {
    const bucket = connection.bucket;
    for (let node = bucket.idle.tail; node !== null; node = node.prev) {
      const idle = node.value;
      if (idle.allocationLimit > 1 && this.#isHealthy(idle)) return idle;
    }
    let best: PooledConnection | null = null;
    for (const candidate of bucket.multiplexed) {
      if (
        candidate !== connection &&
        !candidate.noNewExchanges &&
        candidate.allocations < candidate.allocationLimit &&
        (best === null || candidate.allocations < best.allocations) &&
        this.#isHealthy(candidate)
      ) {
        best = candidate;
      }
    }
    return best;
  }

  #failConnect(connection: PooledConnection, waiter: Waiter, error: Error): void {
    if (connection.phase !== 'connecting') return;
    connection.phase = 'evicted';
    const abort = connection.connectAbort;
    connection.connectAbort = null;
    // Tell the connector to stop, if it is still at it (a no-op when it failed by itself).
    if (abort !== null && !abort.signal.aborted) abort.abort(error);
    connection.actor.send({ type: 'CONNECT_FAILED', error });
    connection.actorState = 'evicted';
    this.#actorStates.connecting--;
    this.#connections.delete(connection.id);
    connection.bucket.count--;
    connection.bucket.connecting--;
    this.#totals.connectFailures++;
    if (this.#events.observed) {
      const now = this.#options.scheduler.now();
      this.#emit({
        type: 'connect-failed',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        error,
        durationMs: now - connection.createdAt,
      });
    }
    this.#settleWaiter(waiter, error);
    this.#afterSlotFreed(connection);
    if (connection.bucket.parked.size > 0) this.#unparkExcess(connection.bucket);
  }

  // ---- releasing -------------------------------------------------------------------------

  #releaseLease(holder: LeaseHolder): void {
    const slot = holder.slot;
    if (!slot.live) return;
    slot.live = false;
    slot.stack = undefined;
    slot.purpose = undefined;
    this.#heldTooLong?.remove(slot.watchNode);
    const connection = slot.connection;
    if (connection.phase !== 'open') return; // closed under the lease: nothing to give back
    connection.freeHolders.push(holder);
    connection.allocations--;
    this.#leases--;
    this.#totals.released++;
    if (this.#events.observed) {
      const now = this.#options.scheduler.now();
      this.#emit({
        type: 'connection-released',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        allocations: connection.allocations,
        allocationLimit: connection.allocationLimit,
        heldMs: now - slot.acquiredAt,
      });
    }
    this.#afterRelease(connection);
  }

  #afterRelease(connection: PooledConnection): void {
    if (this.#state !== 'open') {
      if (connection.allocations === 0) this.#close(connection, 'pool-closed');
      return;
    }
    if (connection.noNewExchanges) {
      if (connection.allocations === 0) this.#close(connection, connection.drainReason);
      else this.#touchActor(connection);
      return;
    }
    const bucket = connection.bucket;
    if (bucket.waiters.size > 0 || bucket.parked.size > 0) {
      if (!this.#isHealthy(connection)) {
        this.#markNoNewExchanges(connection, 'unhealthy');
        return;
      }
      this.#shareWithWaiters(connection);
    }
    if (connection.allocations > 0) {
      this.#touchActor(connection);
      return;
    }
    bucket.multiplexed.delete(connection);
    if (this.#options.maxIdleConnections === 0) {
      this.#close(connection, 'idle-limit');
      return;
    }
    const now = this.#options.scheduler.now();
    const keepAlive = this.#options.keepAliveMs;
    const life = connection.transport?.idleTimeout;
    if (life !== undefined && !(life > 0)) {
      this.#close(connection, 'keep-alive-expired');
      return;
    }
    connection.idleAt = now;
    this.#idle.push(connection.idleNode);
    bucket.idle.push(connection.bucketIdleNode);
    if (life !== undefined && life < keepAlive) {
      connection.expiresAt = now + life;
      this.#shortLived.push(connection);
    }
    this.#touchActor(connection);
    // Another address may be waiting for room that only this idle connection can give.
    if (this.#waiters.size > 0) this.#serveWaiters();
    // Restart the loop if it stopped; run it now if the idle limit is exceeded or this
    // connection expires before the next tick.
    const due = this.#loop.nextTickAt;
    const expiresAt = life !== undefined && life < keepAlive ? now + life : now + keepAlive;
    if (due === undefined || this.#idle.size > this.#options.maxIdleConnections || expiresAt < due) {
      this.#loop.wake();
    }
  }

  #markNoNewExchanges(connection: PooledConnection, reason: CloseReason): void {
    if (connection.phase === 'evicted') return;
    if (!connection.noNewExchanges) {
      connection.noNewExchanges = true;
      connection.drainReason = reason;
      connection.bucket.multiplexed.delete(connection);
      if (this.#events.observed) {
        this.#emit({
          type: 'no-new-exchanges',
          at: this.#options.scheduler.now(),
          connectionId: connection.id,
          address: String(connection.address),
        });
      }
    }
    if (connection.phase === 'open' && connection.allocations === 0) this.#close(connection, connection.drainReason);
  }

  // ---- closing ---------------------------------------------------------------------------

  /**
   * Takes an open connection out of the pool, moves its actor to `evicted` (final, so this
   * happens once) and closes its transport. Frees its slot for waiters unless `serveWaiters`
   * is false.
   */
  #close(connection: PooledConnection, reason: CloseReason, serveWaiters = true): void {
    if (connection.phase !== 'open') return;
    connection.phase = 'evicted';
    if (connection.isIdle) this.#leaveIdle(connection);
    connection.bucket.multiplexed.delete(connection);
    this.#leases -= connection.allocations;
    this.#connections.delete(connection.id);
    connection.bucket.count--;
    this.#actorStates[connection.actorState as 'idle' | 'inUse']--;
    connection.actorState = 'evicted';
    const transport = connection.transport;
    if (transport !== null && connection.closeListener !== null) {
      try {
        transport.off?.('close', connection.closeListener);
      } catch {
        // A transport that cannot remove a listener is still closed below.
      }
      connection.closeListener = null;
    }
    for (const holder of connection.freeHolders) this.#registry.unregister(holder.slot);
    connection.freeHolders.length = 0;
    connection.actor.send({ type: 'EVICT', reason });
    // Exactly once: only an open connection gets here, and it is open no more.
    let closeError: Error | null = null;
    if (transport !== null) {
      try {
        transport.close();
      } catch (error) {
        closeError = toError(error);
      }
    }
    this.#totals.closed++;
    if (this.#events.observed) {
      this.#emit({
        type: 'connection-closed',
        at: this.#options.scheduler.now(),
        connectionId: connection.id,
        address: String(connection.address),
        reason,
        ...(closeError ? { error: closeError } : {}),
      });
    }
    if (serveWaiters) this.#afterSlotFreed(connection);
    else this.#forgetBucketIfEmpty(connection.bucket);
  }

  #leaveIdle(connection: PooledConnection): void {
    this.#idle.remove(connection.idleNode);
    connection.bucket.idle.remove(connection.bucketIdleNode);
    if (connection.heapIndex >= 0) this.#shortLived.remove(connection);
    connection.expiresAt = Infinity;
  }

  #afterSlotFreed(connection: PooledConnection): void {
    if (this.#state === 'open' && this.#waiters.size > 0) this.#serveWaiters();
    this.#forgetBucketIfEmpty(connection.bucket);
    if (this.#state !== 'open') this.#checkDrained();
  }

  /**
   * Puts `bucket` back in the map if it was forgotten while its acquirer was still using it
   * (evicting the address's last, unhealthy connection empties the bucket mid-acquire).
   */
  #adopt(bucket: AddressBucket): void {
    if (!this.#buckets.has(bucket.address.key)) this.#buckets.set(bucket.address.key, bucket);
  }

  #forgetBucketIfEmpty(bucket: AddressBucket): void {
    if (bucket.isEmpty && this.#buckets.get(bucket.address.key) === bucket) this.#buckets.delete(bucket.address.key);
  }

  #onPeerClosed(connection: PooledConnection): void {
    // A connection already marked noNewExchanges was meant to close: say why it was marked.
    if (connection.phase === 'open') this.#close(connection, connection.noNewExchanges ? connection.drainReason : 'peer-closed');
  }

  #forceClose(): void {
    this.#drainTimer = null;
    for (const connection of [...this.#connections.values()]) {
      if (connection.phase === 'open') {
        this.#forcedOnClose++;
        this.#close(connection, 'pool-closed', false);
      }
    }
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#state !== 'closing' || this.#connections.size > 0) return;
    this.#state = 'closed';
    this.#drainTimer?.unsubscribe();
    this.#drainTimer = null;
    this.#loop.dispose();
    this.#heldTooLong?.dispose();
    this.#acquireDeadlines?.dispose();
    this.#flushActors();
    if (this.#events.observed) {
      this.#emit({ type: 'pool-closed', at: this.#options.scheduler.now(), forced: this.#forcedOnClose });
    }
    this.#events.complete();
    this.#actorRoot.stop();
    this.#buckets.clear();
    this.#finishClose?.();
  }

  // ---- leaks -----------------------------------------------------------------------------

  #onLeaseCollected(slot: LeaseSlot): void {
    if (!slot.live) return;
    slot.live = false;
    this.#heldTooLong?.remove(slot.watchNode);
    const connection = slot.connection;
    if (connection.phase !== 'open') return;
    connection.allocations--;
    this.#leases--;
    this.#totals.leaked++;
    if (this.#events.observed) {
      const stack = slot.stack ?? STACK_HINT;
      this.#emit({
        type: 'connection-leaked',
        at: this.#options.scheduler.now(),
        connectionId: connection.id,
        address: String(connection.address),
        acquiredAt: slot.acquiredAt,
        stack,
        message:
          `A lease of connection ${connection.id} to ${String(connection.address)}${purposeOf(slot)} was garbage-collected without release(). ` +
          'The connection is closed and will not be reused. Release every lease (try/finally, or `using lease = await pool.acquire(...)`); ' +
          'for an HTTP response, read or discard its body to the end. ' +
          (slot.stack ? `It was acquired at:\n${slot.stack}` : STACK_HINT),
      });
    }
    slot.stack = undefined;
    slot.purpose = undefined;
    this.#markNoNewExchanges(connection, 'leaked');
  }

  #onHeldTooLong(slot: LeaseSlot, now: number): void {
    const connection = slot.connection;
    if (!slot.live || connection.phase !== 'open' || !this.#events.observed) return;
    const heldMs = now - slot.acquiredAt;
    this.#emit({
      type: 'lease-held-too-long',
      at: now,
      connectionId: connection.id,
      address: String(connection.address),
      acquiredAt: slot.acquiredAt,
      heldMs,
      stack: slot.stack ?? STACK_HINT,
      message:
        `A lease of connection ${connection.id} to ${String(connection.address)}${purposeOf(slot)} has been held for ${heldMs} ms, ` +
        `longer than leakDetectionThreshold (${this.#options.leakDetectionThresholdMs} ms). It may have been forgotten: ` +
        'release it when done; for an HTTP response, read or discard its body. ' +
        (slot.stack ? `It was acquired at:\n${slot.stack}` : STACK_HINT),
    });
  }

  // ---- actors, events, the loop ----------------------------------------------------------

  /** Records that `connection`'s actor must change; does it now only if someone watches transitions. */
  #touchActor(connection: PooledConnection): void {
    if (this.#eagerActors) {
      this.#syncActor(connection);
    } else if (!connection.dirty) {
      connection.dirty = true;
      this.#dirty.push(connection);
    }
  }

  #syncActor(connection: PooledConnection): void {
    const desired = connection.desiredState;
    const current = connection.actorState;
    if (desired === current || (desired !== 'idle' && desired !== 'inUse')) return;
    connection.actor.send(desired === 'inUse' ? ACQUIRE_EVENT : RELEASE_EVENT);
    this.#actorStates[current as 'idle' | 'inUse']--;
    this.#actorStates[desired]++;
    connection.actorState = desired;
  }

  /** Brings every lagging actor up to date; called before anything reads the actors. */
  #flushActors(): void {
    const dirty = this.#dirty;
    if (dirty.length === 0) return;
    for (const connection of dirty) {
      connection.dirty = false;
      if (connection.phase === 'open') this.#syncActor(connection);
    }
    dirty.length = 0;
  }

  #viewOf(connection: PooledConnection): ConnectionView {
    if (connection.view === null) {
      const flush = (): void => this.#flushActors();
      connection.view = {
        id: connection.id,
        get state(): ConnectionState {
          if (connection.dirty) flush();
          return connection.actor.getSnapshot().value as ConnectionState;
        },
      };
    }
    return connection.view;
  }

  #openCount(): number {
    return this.#connections.size - this.#actorStates.connecting;
  }

  #tick(now: number): CleanupTick {
    if (this.#state === 'closed') return { at: now, delay: -1, evicted: 0 };
    let evicted = 0;
    let delay: number;
    try {
      // 0 means "again at once": loop here rather than through a timer.
      for (;;) {
        delay = this.cleanup(now);
        if (delay !== 0) break;
        evicted++;
      }
    } catch (error) {
      delay = CLEANUP_RETRY_MS;
      if (this.#events.observed) this.#emit({ type: 'cleanup-failed', at: now, error: toError(error) });
    }
    return { at: now, delay, evicted };
  }

  #emit(event: PoolEvent): void {
    this.#events.next(event);
  }
}

/** An HTTP method is a token (RFC 9110 5.6.2); anything else is not reported as it is. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

const STACK_HINT =
  'Where it was acquired is not known: create the pool with { captureAcquireStacks: true } to record a stack trace with every acquire.';

function captureStack(): string {
  const stack = new Error('acquired here').stack ?? '';
  // Drop the first lines: the message, captureStack and acquire.
  return stack.split('\n').slice(3).join('\n');
}

function purposeOf(slot: LeaseSlot): string {
  return slot.purpose ? ` (${slot.purpose})` : '';
}

/** The transport's ALPN protocol, if it names one (a transport is the connector's: trust no type). */
function alpnOf(transport: Transport | null): string | undefined {
  const alpn = transport?.alpnProtocol;
  return typeof alpn === 'string' && alpn !== '' ? alpn : undefined;
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function closeQuietly(transport: Transport): void {
  try {
    transport?.close?.();
  } catch {
    // Nothing more can be done with a transport that will not close.
  }
}
