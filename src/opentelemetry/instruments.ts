import { ValueType, type Histogram, type Meter, type ObservableCounter, type ObservableUpDownCounter } from '@opentelemetry/api';

/**
 * The name of the meter the instruments are made on (the instrumentation scope, as
 * OpenTelemetry calls it).
 */
export const METER_NAME = 'reactive-connection-pool';

/** Our own namespace, for what the conventions have no instrument for. */
export const NAMESPACE = 'reactive_connection_pool';

/** Every instrument's name. */
export const INSTRUMENT_NAMES = {
  /** OpenTelemetry's HTTP conventions (`docs/http/http-metrics.md`). */
  openConnections: 'http.client.open_connections',
  connectionDuration: 'http.client.connection.duration',
  /** As .NET's `System.Net.Http` meter names it (OpenTelemetry's .NET HTTP conventions). */
  timeInQueue: 'http.client.request.time_in_queue',
  /** The pool's own, for every address (not only HTTP ones). */
  connectionCount: `${NAMESPACE}.connection.count`,
  leaseCount: `${NAMESPACE}.lease.count`,
  waiterCount: `${NAMESPACE}.waiter.count`,
  connectAttempts: `${NAMESPACE}.connection.attempts`,
  connectFailures: `${NAMESPACE}.connection.failures`,
  evictions: `${NAMESPACE}.connection.evictions`,
  leaks: `${NAMESPACE}.lease.leaks`,
  acquireTimeouts: `${NAMESPACE}.acquire.timeouts`,
  retries: `${NAMESPACE}.retries`,
} as const;

/** Attribute names of our own namespace. */
export const ATTRIBUTE_NAMES = {
  /** The pool's name (option `poolName`), on every measurement. */
  poolName: `${NAMESPACE}.pool.name`,
  /** `connecting`, `idle` or `in_use`, on `connection.count`. */
  connectionState: `${NAMESPACE}.connection.state`,
  /** Why a connection was closed (the `connection-closed` event's reason), on `connection.evictions`. */
  closeReason: `${NAMESPACE}.close.reason`,
  /** Why a request was sent again (the `retry` event's reason), on `retries`. */
  retryReason: `${NAMESPACE}.retry.reason`,
} as const;

/** `http.client.connection.duration`'s buckets, as the HTTP conventions advise (seconds). */
export const CONNECTION_DURATION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
/** `http.client.request.time_in_queue`'s buckets, as the .NET HTTP conventions advise (seconds). */
export const TIME_IN_QUEUE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The instruments of one instrumented pool. */
export interface PoolInstruments {
  readonly openConnections: ObservableUpDownCounter;
  readonly connectionDuration: Histogram;
  readonly timeInQueue: Histogram;
  readonly connectionCount: ObservableUpDownCounter;
  readonly leaseCount: ObservableUpDownCounter;
  readonly waiterCount: ObservableUpDownCounter;
  readonly connectAttempts: ObservableCounter;
  readonly connectFailures: ObservableCounter;
  readonly evictions: ObservableCounter;
  readonly leaks: ObservableCounter;
  readonly acquireTimeouts: ObservableCounter;
  readonly retries: ObservableCounter;
}

/** Makes (or, for a meter that has them already, finds again) the instruments on `meter`. */
export function createInstruments(meter: Meter): PoolInstruments {
  const int = { valueType: ValueType.INT };
  return {
    openConnections: meter.createObservableUpDownCounter(INSTRUMENT_NAMES.openConnections, {
      ...int,
      unit: '{connection}',
      description: 'Number of outbound HTTP connections that are currently active or idle on the client.',
    }),
    connectionDuration: meter.createHistogram(INSTRUMENT_NAMES.connectionDuration, {
      unit: 's',
      description: 'The duration of the successfully established outbound HTTP connections.',
      advice: { explicitBucketBoundaries: CONNECTION_DURATION_BUCKETS },
    }),
    timeInQueue: meter.createHistogram(INSTRUMENT_NAMES.timeInQueue, {
      unit: 's',
      description: 'The amount of time requests spent on a queue waiting for an available connection (the connect included when one was made for them).',
      advice: { explicitBucketBoundaries: TIME_IN_QUEUE_BUCKETS },
    }),
    connectionCount: meter.createObservableUpDownCounter(INSTRUMENT_NAMES.connectionCount, {
      ...int,
      unit: '{connection}',
      description: 'Connections in the pool (any protocol) by state: connecting, idle, in_use.',
    }),
    leaseCount: meter.createObservableUpDownCounter(INSTRUMENT_NAMES.leaseCount, {
      ...int,
      unit: '{lease}',
      description: 'Leases held now.',
    }),
    waiterCount: meter.createObservableUpDownCounter(INSTRUMENT_NAMES.waiterCount, {
      ...int,
      unit: '{waiter}',
      description: 'Acquirers waiting for a connection slot under the pool limits.',
    }),
    connectAttempts: meter.createObservableCounter(INSTRUMENT_NAMES.connectAttempts, {
      ...int,
      unit: '{attempt}',
      description: 'Connect attempts, by server.',
    }),
    connectFailures: meter.createObservableCounter(INSTRUMENT_NAMES.connectFailures, {
      ...int,
      unit: '{failure}',
      description: 'Connect attempts that failed, by server and error.type (the error code).',
    }),
    evictions: meter.createObservableCounter(INSTRUMENT_NAMES.evictions, {
      ...int,
      unit: '{connection}',
      description: 'Connections closed, by close reason (keep-alive-expired, idle-limit, peer-closed, leaked, pool-closed, ...).',
    }),
    leaks: meter.createObservableCounter(INSTRUMENT_NAMES.leaks, {
      ...int,
      unit: '{lease}',
      description: 'Leases garbage-collected without being released.',
    }),
    acquireTimeouts: meter.createObservableCounter(INSTRUMENT_NAMES.acquireTimeouts, {
      ...int,
      unit: '{timeout}',
      description: 'Acquirers that waited past acquireTimeout (ERR_ACQUIRE_TIMEOUT).',
    }),
    retries: meter.createObservableCounter(INSTRUMENT_NAMES.retries, {
      ...int,
      unit: '{request}',
      description: 'Requests sent again on a new connection after the one they used failed before any response, by reason.',
    }),
  };
}
