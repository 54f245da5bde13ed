import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Metric } from 'prom-client';
import type { ConnectionPoolMetricName, ResolvedMetricsOptions } from './connection-pool-metrics.options.js';
import { PoolHistogram } from './pool-histogram.js';

/** The prom-client metrics of a {@link ConnectionPoolMetrics}, by role. */
export interface ConnectionPoolInstruments {
  readonly connections: Gauge<'pool' | 'state'>;
  readonly addressConnections: Gauge<'pool' | 'address'>;
  readonly leases: Gauge<'pool'>;
  readonly waiters: Gauge<'pool'>;
  readonly maxConnections: Gauge<'pool'>;
  readonly maxConnectionsPerAddress: Gauge<'pool'>;
  readonly cleanupOverdue: Gauge<'pool'>;
  readonly connects: Counter<'pool' | 'address'>;
  readonly connectFailures: Counter<'pool' | 'address'>;
  readonly acquisitions: Counter<'pool' | 'reused'>;
  readonly evictions: Counter<'pool' | 'reason'>;
  readonly leaks: Counter<'pool'>;
  readonly retries: Counter<'pool'>;
  readonly acquireTimeouts: Counter<'pool'>;
  readonly acquireWait: PoolHistogram;
  readonly connectDuration: PoolHistogram;
  readonly leaseHold: PoolHistogram;
  /** Every one of them, to remove from the registry on dispose. */
  readonly all: readonly Metric[];
}

/** What the metrics read at each scrape (prom-client's `collect`). */
export interface ScrapeCollectors {
  connections(): void;
  addressConnections(): void;
  leases(): void;
  waiters(): void;
  acquisitions(): void;
  maxConnections(): void;
  maxConnectionsPerAddress(): void;
  cleanupOverdue(): void;
  acquireTimeouts(): void;
}

/**
 * Makes and registers the metrics with prom-client's classes (`promClient`, loaded by the
 * caller when metrics are first used). Gauges, `acquisitions_total` and `acquire_timeouts_total`
 * read the pools at each scrape through `collectors`.
 */
export function createPoolInstruments(
  promClient: typeof PromClient,
  options: ResolvedMetricsOptions,
  collectors: ScrapeCollectors,
): ConnectionPoolInstruments {
  const { Counter, Gauge } = promClient;
  const registers = [options.registry];
  const name = (suffix: ConnectionPoolMetricName): string => options.prefix + suffix;
  const all: Metric[] = [];
  const add = <M extends Metric>(metric: M): M => {
    all.push(metric);
    return metric;
  };
  const addHistogram = (histogram: PoolHistogram): PoolHistogram => {
    all.push(histogram as unknown as Metric);
    return histogram;
  };
  return {
    connections: add(
      new Gauge({
        name: name('connections'),
        help: 'Connections in the pool by state (connecting, idle, inUse), read when scraped.',
        labelNames: ['pool', 'state'],
        registers,
        collect: () => collectors.connections(),
      }),
    ),
    addressConnections: add(
      new Gauge({
        name: name('address_connections'),
        help: `Connections in the pool by (redacted) address, at most ${options.maxAddressLabels} addresses then "other", read when scraped.`,
        labelNames: ['pool', 'address'],
        registers,
        collect: () => collectors.addressConnections(),
      }),
    ),
    leases: add(
      new Gauge({ name: name('leases'), help: 'Leases held now.', labelNames: ['pool'], registers, collect: () => collectors.leases() }),
    ),
    waiters: add(
      new Gauge({
        name: name('waiters'),
        help: 'Acquirers waiting for a connection slot under the limits.',
        labelNames: ['pool'],
        registers,
        collect: () => collectors.waiters(),
      }),
    ),
    maxConnections: add(
      new Gauge({
        name: name('max_connections'),
        help: 'The pool option maxConnections (+Inf: no limit), to compare busy connections with.',
        labelNames: ['pool'],
        registers,
        collect: () => collectors.maxConnections(),
      }),
    ),
    maxConnectionsPerAddress: add(
      new Gauge({
        name: name('max_connections_per_address'),
        help: 'The pool option maxConnectionsPerAddress (+Inf: no limit).',
        labelNames: ['pool'],
        registers,
        collect: () => collectors.maxConnectionsPerAddress(),
      }),
    ),
    cleanupOverdue: add(
      new Gauge({
        name: name('cleanup_overdue_seconds'),
        help: "How late the cleanup stream's next tick is, read when scraped: 0 while it runs on time (or has nothing to clean), growing if its timers stopped.",
        labelNames: ['pool'],
        registers,
        collect: () => collectors.cleanupOverdue(),
      }),
    ),
    connects: add(
      new Counter({ name: name('connects_total'), help: 'Connect attempts, by address.', labelNames: ['pool', 'address'], registers }),
    ),
    connectFailures: add(
      new Counter({
        name: name('connect_failures_total'),
        help: 'Connect attempts that failed, by address.',
        labelNames: ['pool', 'address'],
        registers,
      }),
    ),
    acquisitions: add(
      new Counter({
        name: name('acquisitions_total'),
        help: 'Leases handed out; reused="true" for a pooled connection, "false" for a new one.',
        labelNames: ['pool', 'reused'],
        registers,
        collect: () => collectors.acquisitions(),
      }),
    ),
    evictions: add(
      new Counter({
        name: name('evictions_total'),
        help: 'Connections closed, by reason (keep-alive-expired, idle-limit, peer-closed, leaked, pool-closed, ...).',
        labelNames: ['pool', 'reason'],
        registers,
      }),
    ),
    leaks: add(new Counter({ name: name('leaks_total'), help: 'Leases garbage-collected without release.', labelNames: ['pool'], registers })),
    retries: add(
      new Counter({
        name: name('retries_total'),
        help: 'Requests retried on a fresh connection (stale pooled connection).',
        labelNames: ['pool'],
        registers,
      }),
    ),
    acquireTimeouts: add(
      new Counter({
        name: name('acquire_timeouts_total'),
        help: 'Acquirers that waited past acquireTimeout (ERR_ACQUIRE_TIMEOUT).',
        labelNames: ['pool'],
        registers,
        collect: () => collectors.acquireTimeouts(),
      }),
    ),
    // Observed on every acquire and release: PoolHistogram records without prom-client's per-call label hashing.
    acquireWait: addHistogram(new PoolHistogram(name('acquire_wait_seconds'), 'How long acquirers waited for a lease, connect included.', options.buckets.acquireWait, options.registry)),
    connectDuration: addHistogram(new PoolHistogram(name('connect_duration_seconds'), 'How long successful connects took.', options.buckets.connect, options.registry)),
    leaseHold: addHistogram(new PoolHistogram(name('lease_hold_seconds'), 'How long leases were held before release.', options.buckets.leaseHold, options.registry)),
    all,
  };
}
