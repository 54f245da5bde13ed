import { diag, metrics, type Attributes, type BatchObservableResult, type MeterProvider, type Observable } from '@opentelemetry/api';
import type { Subscription } from 'rxjs';
import { InvalidOptionError, type ConnectionPool, type PoolEvent } from '../pool/index.js';
import { ATTRIBUTE_NAMES, createInstruments, METER_NAME, type PoolInstruments } from './instruments.js';
import { BoundedValues, httpVersionOf, isHttpAddress, OTHER_VALUE, ServerAttributeSets, type ServerAttributes } from './server-attributes.js';

/** Options of {@link instrumentConnectionPool}. */
export interface InstrumentConnectionPoolOptions {
  /** Where the instruments are made. Default: the global one of `@opentelemetry/api` (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider;
  /**
   * The pool's name, on every measurement as `reactive_connection_pool.pool.name`, so that
   * several pools instrumented with one provider stay apart. Default `'default'`.
   */
  readonly poolName?: string;
  /**
   * Distinct servers (scheme, host, port) with attributes of their own, at most; later ones
   * are measured under `server.address="_OTHER"`. Default 50, as the Prometheus metrics' address label.
   */
  readonly maxServerAddresses?: number;
}

/** What {@link instrumentConnectionPool} returns: `dispose()` stops measuring. */
export interface ConnectionPoolInstrumentation extends Disposable {
  /**
   * Stops measuring: the pool's events are no longer listened to and its state no longer read
   * at collection. Idempotent. (What the histograms recorded before stays with the SDK, as
   * recorded data does.)
   */
  dispose(): void;
  /** True once disposed. */
  readonly disposed: boolean;
}

/** The error types of connect failures kept apart, at most (then `_OTHER`). */
const MAX_ERROR_TYPES = 32;
const DEFAULT_MAX_SERVER_ADDRESSES = 50;
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const ERROR_TYPE = /^[A-Za-z0-9_.:/-]{1,64}$/;

/** A connection established since the instrumentation began, until it closes. */
interface OpenConnection {
  readonly connectedAt: number;
  readonly attributes: ServerAttributes;
}

/**
 * Measures `pool` with OpenTelemetry, as the HTTP semantic conventions name things:
 *
 * | instrument | type | unit | attributes |
 * | --- | --- | --- | --- |
 * | `http.client.open_connections` | UpDownCounter (observed) | `{connection}` | `http.connection.state` (`active`, `idle`), `server.address`, `server.port`, `network.protocol.version` (`1.1`, `2`), `url.scheme` |
 * | `http.client.connection.duration` | Histogram | `s` | the same but the state: one per closed connection, from connect to close |
 * | `http.client.request.time_in_queue` | Histogram | `s` | the same: how long an acquirer that could not be served at once waited (its connect included) |
 * | `reactive_connection_pool.connection.count` | UpDownCounter (observed) | `{connection}` | `reactive_connection_pool.connection.state` (`connecting`, `idle`, `in_use`) |
 * | `reactive_connection_pool.lease.count`, `.waiter.count` | UpDownCounter (observed) | `{lease}`, `{waiter}` | |
 * | `reactive_connection_pool.connection.attempts` | Counter (observed) | `{attempt}` | `server.*`, `url.scheme` |
 * | `reactive_connection_pool.connection.failures` | Counter (observed) | `{failure}` | `server.*`, `url.scheme`, `error.type` (the error's code) |
 * | `reactive_connection_pool.connection.evictions` | Counter (observed) | `{connection}` | `reactive_connection_pool.close.reason` |
 * | `reactive_connection_pool.lease.leaks`, `.acquire.timeouts` | Counter (observed) | `{lease}`, `{timeout}` | |
 * | `reactive_connection_pool.retries` | Counter (observed) | `{request}` | `reactive_connection_pool.retry.reason` |
 *
 * Every measurement also carries `reactive_connection_pool.pool.name`. The `http.client.*`
 * instruments count only `http:`/`https:` connections; the pool's own count every one.
 *
 * The observed instruments read the pool when the SDK collects: `open_connections` and
 * `connection.count` are `connections()` and `stats()` at that moment, and so are the leak and
 * acquire-timeout totals; the other counters count the pool's events from the instrumentation
 * on (instrument a pool when it is made, and they agree with `stats().totals` too). Server
 * attributes are bounded (`maxServerAddresses`) and never hold a secret: they are the origin
 * of the pool's redacted address.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool();
 * const instrumentation = instrumentConnectionPool(pool, { meterProvider });
 * // ... on shutdown
 * instrumentation.dispose();
 * ```
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option or something that is not a pool.
 */
export function instrumentConnectionPool(pool: ConnectionPool, options: InstrumentConnectionPoolOptions = {}): ConnectionPoolInstrumentation {
  if (typeof pool !== 'object' || pool === null || typeof pool.stats !== 'function' || typeof pool.connections !== 'function' || pool.events$ === undefined) {
    throw new InvalidOptionError('pool', pool, 'a ConnectionPool');
  }
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object, or nothing');
  const meterProvider = options.meterProvider ?? metrics.getMeterProvider();
  if (typeof meterProvider !== 'object' || meterProvider === null || typeof meterProvider.getMeter !== 'function') {
    throw new InvalidOptionError('meterProvider', meterProvider, 'an OpenTelemetry MeterProvider (an object with getMeter()), or nothing for the global one');
  }
  const poolName = options.poolName ?? 'default';
  if (typeof poolName !== 'string' || !POOL_NAME.test(poolName)) {
    throw new InvalidOptionError('poolName', poolName, 'a name of 1 to 64 letters, digits, "_", ".", ":" or "-", starting with a letter or digit');
  }
  const maxServerAddresses = options.maxServerAddresses ?? DEFAULT_MAX_SERVER_ADDRESSES;
  if (typeof maxServerAddresses !== 'number' || !Number.isInteger(maxServerAddresses) || maxServerAddresses < 0) {
    throw new InvalidOptionError('maxServerAddresses', maxServerAddresses, 'an integer >= 0');
  }
  return new PoolInstrumentation(pool, meterProvider, poolName, maxServerAddresses);
}

class PoolInstrumentation implements ConnectionPoolInstrumentation {
  readonly #pool: ConnectionPool;
  readonly #meter: ReturnType<MeterProvider['getMeter']>;
  readonly #instruments: PoolInstruments;
  readonly #observables: Observable[];
  readonly #base: Attributes;
  readonly #servers: ServerAttributeSets;
  readonly #errorTypes = new BoundedValues(MAX_ERROR_TYPES);
  readonly #subscription: Subscription;
  readonly #open = new Map<string, OpenConnection>();
  readonly #attempts = new Map<Attributes, number>();
  readonly #failures = new Map<Attributes, number>();
  readonly #failureAttributes = new Map<ServerAttributes, Map<string, Attributes>>();
  readonly #evictions = new Map<string, number>();
  readonly #retries = new Map<string, number>();
  /** Every `open_connections` attribute set observed so far: observed again at 0 once empty. */
  readonly #openSeries = new Map<ServerAttributes, { readonly active: Attributes; readonly idle: Attributes }>();
  readonly #stateAttributes: { readonly connecting: Attributes; readonly idle: Attributes; readonly inUse: Attributes };
  #disposed = false;

  constructor(pool: ConnectionPool, meterProvider: MeterProvider, poolName: string, maxServerAddresses: number) {
    this.#pool = pool;
    this.#base = Object.freeze({ [ATTRIBUTE_NAMES.poolName]: poolName });
    this.#servers = new ServerAttributeSets(maxServerAddresses, this.#base);
    this.#stateAttributes = {
      connecting: Object.freeze({ ...this.#base, [ATTRIBUTE_NAMES.connectionState]: 'connecting' }),
      idle: Object.freeze({ ...this.#base, [ATTRIBUTE_NAMES.connectionState]: 'idle' }),
      inUse: Object.freeze({ ...this.#base, [ATTRIBUTE_NAMES.connectionState]: 'in_use' }),
    };
    this.#meter = meterProvider.getMeter(METER_NAME);
    this.#instruments = createInstruments(this.#meter);
    const i = this.#instruments;
    this.#observables = [
      i.openConnections,
      i.connectionCount,
      i.leaseCount,
      i.waiterCount,
      i.connectAttempts,
      i.connectFailures,
      i.evictions,
      i.leaks,
      i.acquireTimeouts,
      i.retries,
    ];
    this.#meter.addBatchObservableCallback(this.#observe, this.#observables);
    this.#subscription = pool.events$.subscribe((event) => this.#record(event));
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#subscription.unsubscribe();
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
    this.#open.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** One pool event: the histograms are recorded and the counters counted as it happens. */
  #record(event: PoolEvent): void {
    try {
      switch (event.type) {
        case 'connection-acquired':
          // Only an acquirer that could not be served at once was in a queue (as .NET counts).
          if ((event.reused && event.waitedMs <= 0) || !isHttpAddress(event.address)) break;
          this.#instruments.timeInQueue.record(event.waitedMs / 1_000, this.#open.get(event.connectionId)?.attributes ?? this.#servers.for(event.address, undefined));
          break;
        case 'connect-start':
          increment(this.#attempts, this.#servers.for(event.address, undefined));
          break;
        case 'connect-end':
          this.#open.set(event.connectionId, { connectedAt: event.at, attributes: this.#servers.for(event.address, httpVersionOf(event.address, event.alpnProtocol)) });
          break;
        case 'connect-failed':
          increment(this.#failures, this.#failureAttributesOf(this.#servers.for(event.address, undefined), event.error));
          break;
        case 'connection-closed': {
          increment(this.#evictions, event.reason);
          const open = this.#open.get(event.connectionId);
          if (open === undefined) break;
          this.#open.delete(event.connectionId);
          if (isHttpAddress(event.address)) this.#instruments.connectionDuration.record(Math.max(0, event.at - open.connectedAt) / 1_000, open.attributes);
          break;
        }
        case 'retry':
          increment(this.#retries, event.reason);
          break;
        default:
          break;
      }
    } catch (error) {
      // An SDK (or a MeterProvider of the user's) that throws must not break the pool's event stream.
      diag.error(`reactive-connection-pool: recording the ${event.type} event failed`, error);
    }
  }

  #failureAttributesOf(server: ServerAttributes, error: Error): Attributes {
    const code = (error as { code?: unknown }).code;
    const raw = typeof code === 'string' && ERROR_TYPE.test(code) ? code : typeof error?.name === 'string' && ERROR_TYPE.test(error.name) ? error.name : OTHER_VALUE;
    const errorType = this.#errorTypes.valueOf(raw);
    let byType = this.#failureAttributes.get(server);
    if (byType === undefined) {
      byType = new Map();
      this.#failureAttributes.set(server, byType);
    }
    let attributes = byType.get(errorType);
    if (attributes === undefined) {
      attributes = Object.freeze({ ...server, 'error.type': errorType });
      byType.set(errorType, attributes);
    }
    return attributes;
  }

  /** At each collection: the pool's state now, and the counts so far. */
  readonly #observe = (result: BatchObservableResult): void => {
    const i = this.#instruments;
    const stats = this.#pool.stats();
    result.observe(i.connectionCount, stats.connecting, this.#stateAttributes.connecting);
    result.observe(i.connectionCount, stats.idle, this.#stateAttributes.idle);
    result.observe(i.connectionCount, stats.inUse, this.#stateAttributes.inUse);
    result.observe(i.leaseCount, stats.leases, this.#base);
    result.observe(i.waiterCount, stats.waiters, this.#base);
    result.observe(i.leaks, stats.totals.leaked, this.#base);
    result.observe(i.acquireTimeouts, stats.totals.acquireTimeouts, this.#base);
    for (const [attributes, count] of this.#attempts) result.observe(i.connectAttempts, count, attributes);
    for (const [attributes, count] of this.#failures) result.observe(i.connectFailures, count, attributes);
    for (const [reason, count] of this.#evictions) result.observe(i.evictions, count, { ...this.#base, [ATTRIBUTE_NAMES.closeReason]: reason });
    for (const [reason, count] of this.#retries) result.observe(i.retries, count, { ...this.#base, [ATTRIBUTE_NAMES.retryReason]: reason });
    this.#observeOpenConnections(result);
  };

  #observeOpenConnections(result: BatchObservableResult): void {
    const counts = new Map<ServerAttributes, { active: number; idle: number }>();
    for (const connection of this.#pool.connections()) {
      if ((connection.state !== 'idle' && connection.state !== 'inUse') || !isHttpAddress(connection.address)) continue;
      const server = this.#servers.for(connection.address, httpVersionOf(connection.address, connection.alpnProtocol));
      let count = counts.get(server);
      if (count === undefined) {
        count = { active: 0, idle: 0 };
        counts.set(server, count);
      }
      if (connection.state === 'idle') count.idle++;
      else count.active++;
    }
    for (const server of counts.keys()) {
      if (!this.#openSeries.has(server)) {
        this.#openSeries.set(server, {
          active: Object.freeze({ ...server, 'http.connection.state': 'active' }),
          idle: Object.freeze({ ...server, 'http.connection.state': 'idle' }),
        });
      }
    }
    // A series seen once is observed at 0 when it has no connection left, so that an
    // exporter does not keep showing its last value.
    for (const [server, series] of this.#openSeries) {
      const count = counts.get(server);
      result.observe(this.#instruments.openConnections, count?.active ?? 0, series.active);
      result.observe(this.#instruments.openConnections, count?.idle ?? 0, series.idle);
    }
  }
}

function increment<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
