import type { Registry } from 'prom-client';
import { InvalidOptionError } from '../pool/index.js';

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
  'max_connections',
  'max_connections_per_address',
  'cleanup_overdue_seconds',
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

/** One of {@link CONNECTION_POOL_METRIC_NAMES}. */
export type ConnectionPoolMetricName = (typeof CONNECTION_POOL_METRIC_NAMES)[number];

/** The options after validation. */
export interface ResolvedMetricsOptions {
  readonly registry: Registry;
  readonly prefix: string;
  readonly maxAddressLabels: number;
  readonly buckets: { readonly acquireWait: number[]; readonly connect: number[]; readonly leaseHold: number[] };
}

const DEFAULT_PREFIX = 'connection_pool_';
const DEFAULT_MAX_ADDRESS_LABELS = 50;
const ACQUIRE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CONNECT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LEASE_HOLD_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Validates the options of {@link ConnectionPoolMetrics}, and checks that none of its metric
 * names is taken in the registry (so that a conflict leaves the registry as it was).
 *
 * @param defaultRegistry - prom-client's `register`, used when no `registry` is given.
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option.
 */
export function resolveMetricsOptions(options: ConnectionPoolMetricsOptions, defaultRegistry: Registry): ResolvedMetricsOptions {
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
  return { registry, prefix, maxAddressLabels, buckets };
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
