import type { Subscription } from 'rxjs';
import type * as PromClient from 'prom-client';
import type { Gauge, Registry } from 'prom-client';
import { InvalidOptionError, type ConnectionPool, type PoolEvent } from '../pool/index.js';
import { AddressLabels } from './address-labels.js';
import { createPoolInstruments, type ConnectionPoolInstruments } from './connection-pool-metrics.instruments.js';
import { resolveMetricsOptions, type ConnectionPoolMetricsOptions } from './connection-pool-metrics.options.js';
import { assertPoolName } from './connection-pool.tokens.js';
import type { HistogramSeries } from './pool-histogram.js';
import { loadOptionalPeer } from './optional-peer.js';

interface Tracked {
  readonly name: string;
  readonly pool: ConnectionPool;
  /** Set right after subscribing (the subscription may deliver nothing before). */
  subscription: Subscription | null;
  /** The pool's totals when last added to the counters read at scrape. */
  acquireTimeouts: number;
  acquired: number;
  reused: number;
  /** This pool's histogram series, kept so that an event records without a lookup. */
  readonly acquireWait: HistogramSeries;
  readonly connectDuration: HistogramSeries;
  readonly leaseHold: HistogramSeries;
}

/**
 * Prometheus metrics (prom-client 15) of one or more pools, each labelled `pool="<name>"`:
 *
 * | metric | type | labels | from |
 * | --- | --- | --- | --- |
 * | `connections` | gauge | `state` (`connecting`, `idle`, `inUse`) | `stats()` at scrape |
 * | `address_connections` | gauge | `address` | `connections()` at scrape |
 * | `leases`, `waiters` | gauge | | `stats()` at scrape |
 * | `max_connections`, `max_connections_per_address` | gauge | | the pool's options (`+Inf`: no limit) |
 * | `cleanup_overdue_seconds` | gauge | | how late the cleanup stream's next tick is, at scrape (0: on time) |
 * | `connects_total`, `connect_failures_total` | counter | `address` | `connect-start`, `connect-failed` |
 * | `acquisitions_total` | counter | `reused` (`true`/`false`) | `stats().totals.acquired` and `.reused` at scrape |
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
  readonly #metrics: ConnectionPoolInstruments;
  #disposed = false;

  /**
   * Registers the metrics in the registry.
   *
   * @throws MissingPeerDependencyError (`ERR_MISSING_PEER_DEPENDENCY`) when prom-client is not installed.
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option, or (option `prefix`)
   * if a metric of the same name is already registered there (another instance with the same
   * prefix that was not disposed, or a metric of the application).
   */
  constructor(options: ConnectionPoolMetricsOptions = {}) {
    const promClient = loadOptionalPeer<typeof PromClient>('prom-client', 'ConnectionPoolMetrics (Prometheus metrics)');
    const resolved = resolveMetricsOptions(options, promClient.register);
    this.#registry = resolved.registry;
    this.#labels = new AddressLabels(resolved.maxAddressLabels);
    this.#metrics = createPoolInstruments(promClient, resolved, {
      connections: () => this.#collectConnections(),
      addressConnections: () => this.#collectAddressConnections(),
      leases: () => this.#collectPoolGauge(this.#metrics.leases, (pool) => pool.stats().leases),
      waiters: () => this.#collectPoolGauge(this.#metrics.waiters, (pool) => pool.stats().waiters),
      acquisitions: () => this.#collectTotals(),
      maxConnections: () => this.#collectPoolGauge(this.#metrics.maxConnections, (pool) => pool.options.maxConnections),
      maxConnectionsPerAddress: () => this.#collectPoolGauge(this.#metrics.maxConnectionsPerAddress, (pool) => pool.options.maxConnectionsPerAddress),
      cleanupOverdue: () => this.#collectPoolGauge(this.#metrics.cleanupOverdue, cleanupOverdueSeconds),
      acquireTimeouts: () => this.#collectTotals(),
    });
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
    this.#metrics.acquisitions.inc({ pool: name, reused: 'true' }, 0);
    this.#metrics.acquisitions.inc({ pool: name, reused: 'false' }, 0);
    this.#metrics.leaks.inc(labels, 0);
    this.#metrics.retries.inc(labels, 0);
    this.#metrics.acquireTimeouts.inc(labels, 0);
    const totals = pool.stats().totals;
    const tracked: Tracked = {
      name,
      pool,
      subscription: null,
      acquireTimeouts: totals.acquireTimeouts,
      acquired: totals.acquired,
      reused: totals.reused,
      acquireWait: this.#metrics.acquireWait.series(name),
      connectDuration: this.#metrics.connectDuration.series(name),
      leaseHold: this.#metrics.leaseHold.series(name),
    };
    tracked.subscription = pool.events$.subscribe((event) => this.#record(tracked, event));
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
    for (const metric of this.#metrics.all) {
      const name = (metric as unknown as { name: string }).name;
      if (this.#registry.getSingleMetric(name) === metric) this.#registry.removeSingleMetric(name);
    }
    this.#disposed = true;
  }

  #untrack(name: string, tracked: Tracked): void {
    if (this.#tracked.get(name) !== tracked) return;
    this.#syncTotals(tracked);
    tracked.subscription?.unsubscribe();
    this.#tracked.delete(name);
  }

  /** Counters and histograms from the pool's events (acquisitions are read from its totals at scrape: they are the hot path). */
  #record(tracked: Tracked, event: PoolEvent): void {
    const pool = tracked.name;
    switch (event.type) {
      case 'connection-acquired':
        tracked.acquireWait.observe(event.waitedMs / 1_000);
        break;
      case 'connection-released':
        tracked.leaseHold.observe(event.heldMs / 1_000);
        break;
      case 'connect-start':
        this.#metrics.connects.inc({ pool, address: this.#labels.labelFor(event.address) });
        break;
      case 'connect-end':
        tracked.connectDuration.observe(event.durationMs / 1_000);
        break;
      case 'connect-failed':
        this.#metrics.connectFailures.inc({ pool, address: this.#labels.labelFor(event.address) });
        break;
      case 'connection-closed':
        this.#metrics.evictions.inc({ pool, reason: event.reason });
        break;
      case 'connection-leaked':
        this.#metrics.leaks.inc({ pool });
        break;
      case 'retry':
        this.#metrics.retries.inc({ pool });
        break;
      default:
        break;
    }
  }

  #collectConnections(): void {
    this.#metrics.connections.reset();
    for (const [pool, { pool: p }] of this.#tracked) {
      const stats = p.stats();
      this.#metrics.connections.set({ pool, state: 'connecting' }, stats.connecting);
      this.#metrics.connections.set({ pool, state: 'idle' }, stats.idle);
      this.#metrics.connections.set({ pool, state: 'inUse' }, stats.inUse);
    }
  }

  #collectAddressConnections(): void {
    this.#metrics.addressConnections.reset();
    for (const [pool, { pool: p }] of this.#tracked) {
      const counts = new Map<string, number>();
      for (const connection of p.connections()) {
        const label = this.#labels.labelFor(connection.address);
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
      for (const [address, count] of counts) this.#metrics.addressConnections.set({ pool, address }, count);
    }
  }

  #collectPoolGauge(gauge: Gauge<'pool'>, read: (pool: ConnectionPool) => number): void {
    gauge.reset();
    for (const [pool, { pool: p }] of this.#tracked) gauge.set({ pool }, read(p));
  }

  /**
   * Counters read from the pools' totals at each scrape: acquire timeouts (no event says when
   * one happens) and acquisitions (an event per acquire, but counting them there would put a
   * prom-client call on every request).
   */
  #collectTotals(): void {
    for (const tracked of this.#tracked.values()) this.#syncTotals(tracked);
  }

  #syncTotals(tracked: Tracked): void {
    const { acquireTimeouts, acquired, reused } = tracked.pool.stats().totals;
    const pool = tracked.name;
    if (acquireTimeouts > tracked.acquireTimeouts) this.#metrics.acquireTimeouts.inc({ pool }, acquireTimeouts - tracked.acquireTimeouts);
    if (reused > tracked.reused) this.#metrics.acquisitions.inc({ pool, reused: 'true' }, reused - tracked.reused);
    const made = acquired - reused;
    const madeBefore = tracked.acquired - tracked.reused;
    if (made > madeBefore) this.#metrics.acquisitions.inc({ pool, reused: 'false' }, made - madeBefore);
    tracked.acquireTimeouts = acquireTimeouts;
    tracked.acquired = acquired;
    tracked.reused = reused;
  }
}

/** How late the cleanup stream's next tick is (s): the same measure as the liveness check's. */
function cleanupOverdueSeconds(pool: ConnectionPool): number {
  const due = pool.stats().cleanup.nextTickAt;
  return due === null ? 0 : Math.max(0, pool.options.scheduler.now() - due) / 1_000;
}
