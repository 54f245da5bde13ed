import type { Subscription } from 'rxjs';
import { Counter, Gauge, Histogram, register as defaultRegistry, type Metric, type Registry } from 'prom-client';
import { InvalidOptionError, type ConnectionPool, type PoolEvent } from '../pool/index.js';
import { AddressLabels } from './address-labels.js';
import { assertPoolName } from './connection-pool.tokens.js';

/** Histogram buckets, in seconds. */
export interface ConnectionPoolMetricsBuckets {
  /** Of `acquire_wait_seconds`. */
  readonly acquireWait?: readonly number[];
  /** Of `connect_duration_seconds`. */
  readonly connect?: readonly number[];
  /** Of `lease_hold_seconds`. */
  readonly leaseHold?: readonly number[];
}

/** Options of {@link ConnectionPoolMetrics}. */
export interface ConnectionPoolMetricsOptions {
  /**
   * Where the metrics are registered. Default: prom-client's default registry (`register`),
   * the one `@willsoto/nestjs-prometheus` serves.
   */
  readonly registry?: Registry;
  /** Prepended to every metric name. Default `'connection_pool_'`. */
  readonly prefix?: string;
  /**
   * Distinct `address` label values at most (per metrics instance); later addresses are
   * counted under `address="other"`. Default 50.
   */
  readonly maxAddressLabels?: number;
  /** Histogram buckets, in seconds. */
  readonly buckets?: ConnectionPoolMetricsBuckets;
}

/** The names of the metrics, without the prefix. */
export const CONNECTION_POOL_METRIC_NAMES = [
  'connections',
  'address_connections',
  'leases',
  'waiters',
  'connects_total',
  'connect_failures_total',
  'acquisitions_total',
  'evictions_total',
  'leaks_total',
  'retries_total',
  'acquire_timeouts_total',
  'acquire_wait_seconds',
  'connect_duration_seconds',
  'lease_hold_seconds',
] as const;

const DEFAULT_PREFIX = 'connection_pool_';
const DEFAULT_MAX_ADDRESS_LABELS = 50;
const ACQUIRE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CONNECT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LEASE_HOLD_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

interface Tracked {
  readonly pool: ConnectionPool;
  readonly subscription: Subscription;
  /** `totals.acquireTimeouts` when last added to the counter. */
  acquireTimeouts: number;
}

/**
 * Prometheus metrics (prom-client 15) of one or more pools, each labelled `pool="<name>"`:
 *
 * | metric | type | labels | from |
 * | --- | --- | --- | --- |
 * | `connections` | gauge | `state` (`connecting`, `idle`, `inUse`) | `stats()` at scrape |
 * | `address_connections` | gauge | `address` | `connections()` at scrape |
 * | `leases`, `waiters` | gauge | | `stats()` at scrape |
 * | `connects_total`, `connect_failures_total` | counter | `address` | `connect-start`, `connect-failed` |
 * | `acquisitions_total` | counter | `reused` (`true`/`false`) | `connection-acquired` |
 * | `evictions_total` | counter | `reason` (the close reason) | `connection-closed` |
 * | `leaks_total` | counter | | `connection-leaked` |
 * | `retries_total` | counter | | `retry` (the Dispatcher sent a request again on a new connection) |
 * | `acquire_timeouts_total` | counter | | `stats().totals.acquireTimeouts` at scrape |
 * | `acquire_wait_seconds` | histogram | | `waitedMs` of `connection-acquired` |
 * | `connect_duration_seconds` | histogram | | `durationMs` of `connect-end` |
 * | `lease_hold_seconds` | histogram | | `heldMs` of `connection-released` |
 *
 * Gauges are computed when scraped, so they are never stale. Address labels are the
 * redacted addresses, at most `maxAddressLabels` of them (then `other`).
 *
 * @example
 * ```ts
 * const metrics = new ConnectionPoolMetrics({ registry: new Registry() });
 * metrics.track('default', pool);
 * console.log(await metrics.registry.metrics());
 * ```
 */
export class ConnectionPoolMetrics {
  readonly #registry: Registry;
  readonly #labels: AddressLabels;
  readonly #tracked = new Map<string, Tracked>();
  readonly #metrics: Metric[] = [];
  #disposed = false;

  readonly #connections: Gauge<'pool' | 'state'>;
  readonly #addressConnections: Gauge<'pool' | 'address'>;
  readonly #leases: Gauge<'pool'>;
  readonly #waiters: Gauge<'pool'>;
  readonly #connects: Counter<'pool' | 'address'>;
  readonly #connectFailures: Counter<'pool' | 'address'>;
  readonly #acquisitions: Counter<'pool' | 'reused'>;
  readonly #evictions: Counter<'pool' | 'reason'>;
  readonly #leaks: Counter<'pool'>;
  readonly #retries: Counter<'pool'>;
  readonly #acquireTimeouts: Counter<'pool'>;
  readonly #acquireWait: Histogram<'pool'>;
  readonly #connectDuration: Histogram<'pool'>;
  readonly #leaseHold: Histogram<'pool'>;

  /**
   * Registers the metrics in the registry.
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option, or (option `prefix`)
   * if a metric of the same name is already registered there (another instance with the same
   * prefix that was not disposed, or a metric of the application).
   */
  constructor(options: ConnectionPoolMetricsOptions = {}) {
    const registry = options.registry ?? defaultRegistry;
    if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function') {
      throw new InvalidOptionError('registry', registry, 'a prom-client Registry');
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
      throw new InvalidOptionError('prefix', prefix, 'a metric name prefix: letters, digits, "_" and ":", not starting with a digit');
    }
    const maxAddressLabels = options.maxAddressLabels ?? DEFAULT_MAX_ADDRESS_LABELS;
    if (typeof maxAddressLabels !== 'number' || !Number.isInteger(maxAddressLabels) || maxAddressLabels < 0) {
      throw new InvalidOptionError('maxAddressLabels', maxAddressLabels, 'an integer >= 0');
    }
    const buckets = {
      acquireWait: bucketsOf('buckets.acquireWait', options.buckets?.acquireWait, ACQUIRE_WAIT_BUCKETS),
      connect: bucketsOf('buckets.connect', options.buckets?.connect, CONNECT_BUCKETS),
      leaseHold: bucketsOf('buckets.leaseHold', options.buckets?.leaseHold, LEASE_HOLD_BUCKETS),
    };
    // Checked before any is made, so that a conflict leaves the registry as it was.
    for (const name of CONNECTION_POOL_METRIC_NAMES) {
      if (registry.getSingleMetric(prefix + name) !== undefined) {
        throw new InvalidOptionError(
          'prefix',
          prefix,
          `a prefix whose metrics are not registered yet: "${prefix + name}" already is in this registry. ` +
            'Dispose of the other ConnectionPoolMetrics first (the Nest module does on shutdown), or give this one another prefix or registry',
        );
      }
    }
    this.#registry = registry;
    this.#labels = new AddressLabels(maxAddressLabels);
    const registers = [registry];
    const add = <M extends Metric>(metric: M): M => {
      this.#metrics.push(metric);
      return metric;
    };
    const name = (suffix: (typeof CONNECTION_POOL_METRIC_NAMES)[number]): string => prefix + suffix;

    this.#connections = add(
      new Gauge({
        name: name('connections'),
        help: 'Connections in the pool by state (connecting, idle, inUse), read when scraped.',
        labelNames: ['pool', 'state'],
        registers,
        collect: () => this.#collectConnections(),
      }),
    );
    this.#addressConnections = add(
      new Gauge({
        name: name('address_connections'),
        help: `Connections in the pool by (redacted) address, at most ${maxAddressLabels} addresses then "other", read when scraped.`,
        labelNames: ['pool', 'address'],
        registers,
        collect: () => this.#collectAddressConnections(),
      }),
    );
    this.#leases = add(
      new Gauge({
        name: name('leases'),
        help: 'Leases held now.',
        labelNames: ['pool'],
        registers,
        collect: () => this.#collectPoolGauge(this.#leases, (pool) => pool.stats().leases),
      }),
    );
    this.#waiters = add(
      new Gauge({
        name: name('waiters'),
        help: 'Acquirers waiting for a connection slot under the limits.',
        labelNames: ['pool'],
        registers,
        collect: () => this.#collectPoolGauge(this.#waiters, (pool) => pool.stats().waiters),
      }),
    );
    this.#connects = add(
      new Counter({ name: name('connects_total'), help: 'Connect attempts, by address.', labelNames: ['pool', 'address'], registers }),
    );
    this.#connectFailures = add(
      new Counter({
        name: name('connect_failures_total'),
        help: 'Connect attempts that failed, by address.',
        labelNames: ['pool', 'address'],
        registers,
      }),
    );
    this.#acquisitions = add(
      new Counter({
        name: name('acquisitions_total'),
        help: 'Leases handed out; reused="true" for a pooled connection, "false" for a new one.',
        labelNames: ['pool', 'reused'],
        registers,
      }),
    );
    this.#evictions = add(
      new Counter({
        name: name('evictions_total'),
        help: 'Connections closed, by reason (keep-alive-expired, idle-limit, peer-closed, leaked, pool-closed, ...).',
        labelNames: ['pool', 'reason'],
        registers,
      }),
    );
    this.#leaks = add(
      new Counter({ name: name('leaks_total'), help: 'Leases garbage-collected without release.', labelNames: ['pool'], registers }),
    );
    this.#retries = add(
      new Counter({
        name: name('retries_total'),
        help: 'Requests retried on a fresh connection (stale pooled connection).',
        labelNames: ['pool'],
        registers,
      }),
    );
    this.#acquireTimeouts = add(
      new Counter({
        name: name('acquire_timeouts_total'),
        help: 'Acquirers that waited past acquireTimeout (ERR_ACQUIRE_TIMEOUT).',
        labelNames: ['pool'],
        registers,
        collect: () => this.#collectAcquireTimeouts(),
      }),
    );
    this.#acquireWait = add(
      new Histogram({
        name: name('acquire_wait_seconds'),
        help: 'How long acquirers waited for a lease, connect included.',
        labelNames: ['pool'],
        buckets: buckets.acquireWait,
        registers,
      }),
    );
    this.#connectDuration = add(
      new Histogram({
        name: name('connect_duration_seconds'),
        help: 'How long successful connects took.',
        labelNames: ['pool'],
        buckets: buckets.connect,
        registers,
      }),
    );
    this.#leaseHold = add(
      new Histogram({
        name: name('lease_hold_seconds'),
        help: 'How long leases were held before release.',
        labelNames: ['pool'],
        buckets: buckets.leaseHold,
        registers,
      }),
    );
  }

  /** The registry the metrics are in. */
  get registry(): Registry {
    return this.#registry;
  }

  /** Names of the pools tracked. */
  get pools(): string[] {
    return [...this.#tracked.keys()];
  }

  /**
   * Starts measuring `pool` under `pool="<name>"`: counters and histograms from its events
   * from now on, gauges at every scrape. Returns a function that stops (the series it made
   * stay, as counters must not go back).
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`, option `name`) if `name` is tracked already.
   */
  track(name: string, pool: ConnectionPool): () => void {
    assertPoolName(name);
    if (this.#disposed) throw new InvalidOptionError('metrics', 'disposed', 'a ConnectionPoolMetrics that has not been disposed');
    if (this.#tracked.has(name)) {
      throw new InvalidOptionError('name', name, 'a pool name these metrics do not track yet (each pool is tracked once)');
    }
    const labels = { pool: name };
    // Series that exist from the start, at 0, so that rate() and alerts see them before the first incident.
    this.#acquisitions.inc({ pool: name, reused: 'true' }, 0);
    this.#acquisitions.inc({ pool: name, reused: 'false' }, 0);
    this.#leaks.inc(labels, 0);
    this.#retries.inc(labels, 0);
    this.#acquireTimeouts.inc(labels, 0);
    const tracked: Tracked = {
      pool,
      subscription: pool.events$.subscribe((event) => this.#record(name, event)),
      acquireTimeouts: pool.stats().totals.acquireTimeouts,
    };
    this.#tracked.set(name, tracked);
    return () => this.#untrack(name, tracked);
  }

  /**
   * Stops tracking every pool and removes the metrics from the registry (so that the same
   * names can be registered again, by the next application in the process for instance).
   */
  dispose(): void {
    if (this.#disposed) return;
    for (const [name, tracked] of [...this.#tracked]) this.#untrack(name, tracked);
    for (const metric of this.#metrics) {
      const name = (metric as unknown as { name: string }).name;
      if (this.#registry.getSingleMetric(name) === metric) this.#registry.removeSingleMetric(name);
    }
    this.#disposed = true;
  }

  #untrack(name: string, tracked: Tracked): void {
    if (this.#tracked.get(name) !== tracked) return;
    this.#syncAcquireTimeouts(name, tracked);
    tracked.subscription.unsubscribe();
    this.#tracked.delete(name);
  }

  #record(pool: string, event: PoolEvent): void {
    switch (event.type) {
      case 'connect-start':
        this.#connects.inc({ pool, address: this.#labels.labelFor(event.address) });
        break;
      case 'connect-end':
        this.#connectDuration.observe({ pool }, event.durationMs / 1_000);
        break;
      case 'connect-failed':
        this.#connectFailures.inc({ pool, address: this.#labels.labelFor(event.address) });
        break;
      case 'connection-acquired':
        this.#acquisitions.inc({ pool, reused: String(event.reused) });
        this.#acquireWait.observe({ pool }, event.waitedMs / 1_000);
        break;
      case 'connection-released':
        this.#leaseHold.observe({ pool }, event.heldMs / 1_000);
        break;
      case 'connection-closed':
        this.#evictions.inc({ pool, reason: event.reason });
        break;
      case 'connection-leaked':
        this.#leaks.inc({ pool });
        break;
      case 'retry':
        this.#retries.inc({ pool });
        break;
      default:
        break;
    }
  }

  #collectConnections(): void {
    this.#connections.reset();
    for (const [pool, { pool: p }] of this.#tracked) {
      const stats = p.stats();
      this.#connections.set({ pool, state: 'connecting' }, stats.connecting);
      this.#connections.set({ pool, state: 'idle' }, stats.idle);
      this.#connections.set({ pool, state: 'inUse' }, stats.inUse);
    }
  }

  #collectAddressConnections(): void {
    this.#addressConnections.reset();
    for (const [pool, { pool: p }] of this.#tracked) {
      const counts = new Map<string, number>();
      for (const connection of p.connections()) {
        const label = this.#labels.labelFor(connection.address);
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
      for (const [address, count] of counts) this.#addressConnections.set({ pool, address }, count);
    }
  }

  #collectPoolGauge(gauge: Gauge<'pool'>, read: (pool: ConnectionPool) => number): void {
    gauge.reset();
    for (const [pool, { pool: p }] of this.#tracked) gauge.set({ pool }, read(p));
  }

  /** The pool emits no event for an acquire timeout: its total is read at each scrape. */
  #collectAcquireTimeouts(): void {
    for (const [name, tracked] of this.#tracked) this.#syncAcquireTimeouts(name, tracked);
  }

  #syncAcquireTimeouts(name: string, tracked: Tracked): void {
    const total = tracked.pool.stats().totals.acquireTimeouts;
    if (total > tracked.acquireTimeouts) this.#acquireTimeouts.inc({ pool: name }, total - tracked.acquireTimeouts);
    tracked.acquireTimeouts = total;
  }
}

function bucketsOf(option: string, value: readonly number[] | undefined, fallback: readonly number[]): number[] {
  if (value === undefined) return [...fallback];
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (value[i - 1] as number)));
  if (!ok) throw new InvalidOptionError(option, value, 'a non-empty array of increasing positive numbers (seconds)');
  return [...value];
}
