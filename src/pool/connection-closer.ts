import type { ConnectionActors } from './connection-actors.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { CloseReason } from './events.js';
import type { IdleIndex } from './idle-index.js';
import type { LeaseLedger } from './lease-ledger.js';
import type { LifetimeIndex } from './lifetime-index.js';
import type { MultiplexedOrigins } from './multiplexed-origins.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PoolEventEmitter } from './pool-event-emitter.js';
import type { PoolTotals, PooledConnection } from './pool-records.js';
import { toError } from './to-error.js';

/**
 * Takes open connections out of the pool, each exactly once: off every index, its actor to
 * `evicted` (final) with the reason as output, its transport closed (the only place the pool
 * closes one), and `connection-closed` emitted. Also marks connections `noNewExchanges`, so
 * that they close when their last lease is released.
 */
export class ConnectionCloser {
  readonly #options: ResolvedPoolOptions;
  readonly #emitter: PoolEventEmitter;
  readonly #totals: PoolTotals;
  readonly #registry: ConnectionRegistry;
  readonly #idle: IdleIndex;
  readonly #lifetimes: LifetimeIndex;
  readonly #origins: MultiplexedOrigins;
  readonly #actors: ConnectionActors;
  readonly #ledger: LeaseLedger;
  readonly #slotFreed: (connection: PooledConnection) => void;

  /**
   * @param slotFreed - a closed connection's slot is free: waiters may take it, its address
   *   may be forgotten, a drain may be over.
   */
  constructor(
    options: ResolvedPoolOptions,
    emitter: PoolEventEmitter,
    totals: PoolTotals,
    registry: ConnectionRegistry,
    idle: IdleIndex,
    lifetimes: LifetimeIndex,
    origins: MultiplexedOrigins,
    actors: ConnectionActors,
    ledger: LeaseLedger,
    slotFreed: (connection: PooledConnection) => void,
  ) {
    this.#options = options;
    this.#emitter = emitter;
    this.#totals = totals;
    this.#registry = registry;
    this.#idle = idle;
    this.#lifetimes = lifetimes;
    this.#origins = origins;
    this.#actors = actors;
    this.#ledger = ledger;
    this.#slotFreed = slotFreed;
  }

  /**
   * Takes an open connection out of the pool, moves its actor to `evicted` (final, so this
   * happens once) and closes its transport. Frees its slot for waiters unless `serveWaiters`
   * is false (the caller is making room for one, or the pool is closing).
   */
  close(connection: PooledConnection, reason: CloseReason, serveWaiters = true): void {
    if (connection.phase !== 'open') return;
    connection.phase = 'evicted';
    if (connection.isIdle) this.#idle.remove(connection);
    this.#lifetimes.remove(connection);
    this.#registry.remove(connection);
    this.#ledger.forget(connection);
    const transport = connection.transport;
    if (transport !== null && connection.closeListener !== null) {
      try {
        transport.off?.('close', connection.closeListener);
      } catch {
        // A transport that cannot remove a listener is still closed below.
      }
      connection.closeListener = null;
    }
    this.#actors.evict(connection, reason);
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
    // Its origin was multiplexed until now: remembered from here (see MultiplexedOrigins).
    const bucket = connection.bucket;
    if (bucket.multiplexLimit > 1) {
      this.#origins.saw(bucket.address.key, bucket.multiplexLimit, this.#options.scheduler.now());
    }
    if (this.#emitter.wants('connection-closed')) {
      this.#emitter.emit({
        type: 'connection-closed',
        at: this.#options.scheduler.now(),
        connectionId: connection.id,
        address: String(connection.address),
        reason,
        ...(closeError ? { error: closeError } : {}),
      });
    }
    if (serveWaiters) this.#slotFreed(connection);
    else this.#registry.forgetIfEmpty(connection.bucket);
  }

  /**
   * `connection` takes no new lease; it closes with `reason` once it has none (at once if it
   * has none now). The first reason given is the one it closes with.
   */
  markNoNewExchanges(connection: PooledConnection, reason: CloseReason): void {
    if (connection.phase === 'evicted') return;
    if (!connection.noNewExchanges) {
      connection.noNewExchanges = true;
      connection.drainReason = reason;
      connection.bucket.multiplexed.delete(connection);
      this.#lifetimes.remove(connection);
      if (this.#emitter.wants('no-new-exchanges')) {
        this.#emitter.emit({
          type: 'no-new-exchanges',
          at: this.#options.scheduler.now(),
          connectionId: connection.id,
          address: String(connection.address),
        });
      }
    }
    if (connection.phase === 'open' && connection.allocations === 0) this.close(connection, connection.drainReason);
  }

  /**
   * `connection` reached its `maxLifetime`: it closes now if it carries nothing, else it takes
   * no new exchange and closes when its last lease is released. Never cuts an exchange.
   */
  retire(connection: PooledConnection): void {
    if (connection.allocations === 0) this.close(connection, 'max-lifetime');
    else this.markNoNewExchanges(connection, 'max-lifetime');
  }

  /** The transport of `connection` closed by itself. */
  peerClosed(connection: PooledConnection): void {
    // A connection already marked noNewExchanges was meant to close: say why it was marked.
    if (connection.phase === 'open') this.close(connection, connection.noNewExchanges ? connection.drainReason : 'peer-closed');
  }
}
