import type { Subscription } from 'rxjs';
import type { CleanupLoop } from './cleanup-loop.js';
import type { ConnectionActors } from './connection-actors.js';
import type { ConnectionCloser } from './connection-closer.js';
import type { ConnectionPicker } from './connection-picker.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { AcquireAbortedError, ConnectTimeoutError, ConnectorResultError } from './errors.js';
import type { LeaseLedger } from './lease-ledger.js';
import type { LifetimeIndex } from './lifetime-index.js';
import type { MultiplexedOrigins } from './multiplexed-origins.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolEventEmitter } from './pool-event-emitter.js';
import { PooledConnection, type PoolTotals, type Waiter } from './pool-records.js';
import { toError } from './to-error.js';
import { alpnOf, remoteAddressOf } from './transport-facts.js';
import type { ConnectionHooks, Connector, Transport } from './transport.js';
import type { WaiterQueues } from './waiter-queues.js';

/**
 * Connecting: makes a connection for an acquirer that has room, under `connectTimeout` and the
 * acquirer's AbortSignal, and hands it over (or, for a `coalesce` acquirer whose address now has
 * another multiplexed connection with room, hands that one over and closes the new one). A
 * failed connect leaves nothing behind: `connect-start, connect-failed` and the acquirer's error.
 */
export class ConnectAttempts {
  readonly #options: ResolvedPoolOptions;
  readonly #connector: Connector;
  readonly #emitter: PoolEventEmitter;
  readonly #totals: PoolTotals;
  readonly #registry: ConnectionRegistry;
  readonly #actors: ConnectionActors;
  readonly #picker: ConnectionPicker;
  readonly #closer: ConnectionCloser;
  readonly #ledger: LeaseLedger;
  readonly #lifetimes: LifetimeIndex;
  readonly #origins: MultiplexedOrigins;
  readonly #loop: CleanupLoop;
  readonly #waiters: () => WaiterQueues;
  readonly #slotFreed: (connection: PooledConnection) => void;

  /**
   * @param waiters - the pool's waiter queues (made after this: they start connects here).
   * @param slotFreed - a failed connect's slot is free (see `ConnectionCloser`).
   */
  constructor(
    options: ResolvedPoolOptions,
    connector: Connector,
    emitter: PoolEventEmitter,
    totals: PoolTotals,
    registry: ConnectionRegistry,
    actors: ConnectionActors,
    picker: ConnectionPicker,
    closer: ConnectionCloser,
    ledger: LeaseLedger,
    lifetimes: LifetimeIndex,
    origins: MultiplexedOrigins,
    loop: CleanupLoop,
    waiters: () => WaiterQueues,
    slotFreed: (connection: PooledConnection) => void,
  ) {
    this.#options = options;
    this.#connector = connector;
    this.#emitter = emitter;
    this.#totals = totals;
    this.#registry = registry;
    this.#actors = actors;
    this.#picker = picker;
    this.#closer = closer;
    this.#ledger = ledger;
    this.#lifetimes = lifetimes;
    this.#origins = origins;
    this.#loop = loop;
    this.#waiters = waiters;
    this.#slotFreed = slotFreed;
  }

  /** Starts a connect for `waiter`, which has room under the limits. */
  connect(waiter: Waiter): void {
    const bucket = waiter.bucket;
    const scheduler = this.#options.scheduler;
    const { serial, id } = this.#registry.nextId();
    const connection = new PooledConnection(id, serial, bucket, scheduler.now(), this.#actors.spawn(id));
    this.#registry.add(connection);
    this.#totals.connects++;
    if (this.#emitter.wants('connect-start')) {
      this.#emitter.emit({ type: 'connect-start', at: connection.createdAt, connectionId: id, address: String(bucket.address) });
    }

    // The acquire timeout covers waiting for a slot; from here the connect timeout applies.
    this.#waiters().disarm(waiter);
    const abort = new AbortController();
    connection.connectAbort = abort;
    const fail = (error: Error): void => this.#fail(connection, waiter, error);
    const onConnectAborted = (): void => fail(toError(abort.signal.reason));
    abort.signal.addEventListener('abort', onConnectAborted, { once: true });
    let timeout: Subscription | null = null;
    const connectTimeoutMs = this.#options.connectTimeoutMs;
    if (connectTimeoutMs !== Infinity) {
      timeout = scheduler.schedule(() => {
        // A timer that fires late (the event loop was blocked while the connect completed)
        // runs before the I/O that waited with it: look once more after that I/O has been
        // read, and give up only if the connect is still not done (as undici does: its issue
        // 3410). In virtual time this second look runs at the same instant.
        timeout = scheduler.schedule(() => abort.abort(new ConnectTimeoutError(String(bucket.address), connectTimeoutMs)), 0);
      }, connectTimeoutMs);
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
          hooks: new PoolConnectionHooks(this, connection),
        }),
      );
    } catch (error) {
      attempt = Promise.reject(error);
    }
    attempt.then(
      (transport) => {
        settle();
        this.#connected(connection, waiter, transport);
      },
      (error: unknown) => {
        settle();
        fail(toError(error));
      },
    );
  }

  /** {@link ConnectionHooks.capacityChanged} of `connection`. */
  capacityChanged(connection: PooledConnection): void {
    this.#waiters().capacityRose(connection);
  }

  /** A hook threw (see {@link PoolConnectionHooks}): reported, not thrown into the transport. */
  hookFailed(error: unknown): void {
    this.#emitter.failures.report('connection hook', error);
  }

  /** {@link ConnectionHooks.noNewExchanges} of `connection`. */
  noNewExchanges(connection: PooledConnection, reason: 'no-new-exchanges' | 'unhealthy' | undefined): void {
    this.#closer.markNoNewExchanges(connection, reason === 'unhealthy' ? 'unhealthy' : 'no-new-exchanges');
  }

  #connected(connection: PooledConnection, waiter: Waiter, transport: Transport): void {
    if (connection.phase !== 'connecting') {
      // The connect was given up (timeout, abort, pool closed) but the connector finished
      // anyway: this transport never joined the pool, so close it here.
      closeQuietly(transport);
      return;
    }
    if (typeof transport !== 'object' || transport === null || typeof transport.close !== 'function') {
      this.#fail(connection, waiter, new ConnectorResultError(String(connection.address), transport));
      return;
    }
    // Listen before the connection counts as open: a transport whose on() throws never joins
    // the pool (it is closed, and the acquire fails saying why) instead of being counted idle
    // with its acquirer never answered.
    if (typeof transport.on === 'function') {
      const onClose = (): void => this.#closer.peerClosed(connection);
      try {
        transport.on('close', onClose);
      } catch (error) {
        closeQuietly(transport);
        this.#fail(connection, waiter, new ConnectorResultError(String(connection.address), transport, `its on('close', listener) threw: ${toError(error).message}`));
        return;
      }
      connection.closeListener = onClose;
    }
    const now = this.#options.scheduler.now();
    connection.connectAbort = null;
    connection.transport = transport;
    connection.phase = 'open';
    connection.bucket.connecting--;
    connection.connectedAt = now;
    const retireAt = this.#lifetimes.add(connection, now);
    this.#actors.connected(connection, transport);
    if (this.#emitter.wants('connect-end')) {
      const alpnProtocol = alpnOf(transport);
      const remoteAddress = remoteAddressOf(transport);
      this.#emitter.emit({
        type: 'connect-end',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        durationMs: now - connection.createdAt,
        ...(alpnProtocol === undefined ? {} : { alpnProtocol }),
        ...(remoteAddress === undefined ? {} : { remoteAddress }),
      });
    }
    waiter.settled = true;
    const bucket = connection.bucket;
    const limit = connection.allocationLimit;
    bucket.multiplexLimit = limit;
    // Multiplexed: remembered (refreshed); not: forgotten (the origin speaks HTTP/1.1 now).
    this.#origins.saw(bucket.address.key, limit, now);
    const waiters = this.#waiters();
    const shared = waiter.coalesce && limit > 1 ? this.#picker.coalesceTarget(connection) : null;
    if (shared !== null) {
      // OkHttp's answer to concurrent connects to an HTTP/2 origin: the acquirer joins the
      // connection that has room, and the one made for it goes.
      waiter.resolve(this.#ledger.lend(shared, true, waiter.startedAt, waiter.stack, now));
      waiters.shareWithWaiters(shared);
      this.#closer.close(connection, 'coalesced');
    } else {
      waiter.resolve(this.#ledger.lend(connection, false, waiter.startedAt, waiter.stack, now));
      // OkHttp's put(): a new connection (re)starts the cleanup loop; and runs it now if the
      // next tick is later than this connection's lifetime end.
      const due = this.#loop.nextTickAt;
      if (due === undefined || retireAt < due) this.#loop.wake();
      if (limit > 1) waiters.shareWithWaiters(connection);
    }
    if (bucket.parked.size > 0) waiters.unparkExcess(bucket);
  }

  #fail(connection: PooledConnection, waiter: Waiter, error: Error): void {
    if (connection.phase !== 'connecting') return;
    connection.phase = 'evicted';
    const abort = connection.connectAbort;
    connection.connectAbort = null;
    // Tell the connector to stop, if it is still at it (a no-op when it failed by itself).
    if (abort !== null && !abort.signal.aborted) abort.abort(error);
    this.#actors.connectFailed(connection, error);
    this.#registry.remove(connection);
    connection.bucket.connecting--;
    this.#totals.connectFailures++;
    if (this.#emitter.wants('connect-failed')) {
      const now = this.#options.scheduler.now();
      this.#emitter.emit({
        type: 'connect-failed',
        at: now,
        connectionId: connection.id,
        address: String(connection.address),
        error,
        durationMs: now - connection.createdAt,
      });
    }
    const waiters = this.#waiters();
    waiters.settle(waiter, error);
    this.#slotFreed(connection);
    if (connection.bucket.parked.size > 0) waiters.unparkExcess(connection.bucket);
  }
}

/**
 * What the transport of one connection may call for as long as it lives (see
 * {@link ConnectionHooks}): one small object per connection, its methods on the prototype.
 */
class PoolConnectionHooks implements ConnectionHooks {
  readonly #attempts: ConnectAttempts;
  readonly #connection: PooledConnection;

  constructor(attempts: ConnectAttempts, connection: PooledConnection) {
    this.#attempts = attempts;
    this.#connection = connection;
  }

  // A hook runs in the transport's code (an HTTP/2 session's event): what goes wrong in the
  // pool is reported, never thrown into it.
  capacityChanged(): void {
    try {
      this.#attempts.capacityChanged(this.#connection);
    } catch (error) {
      this.#attempts.hookFailed(error);
    }
  }

  noNewExchanges(reason?: 'no-new-exchanges' | 'unhealthy'): void {
    try {
      this.#attempts.noNewExchanges(this.#connection, reason);
    } catch (error) {
      this.#attempts.hookFailed(error);
    }
  }
}

function closeQuietly(transport: Transport): void {
  try {
    transport?.close?.();
  } catch {
    // Nothing more can be done with a transport that will not close.
  }
}
