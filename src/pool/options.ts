import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { InspectionEvent, Observer } from 'xstate';
import { parseDuration, type Duration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import type { Connector } from './transport.js';

/** Options of a {@link ConnectionPool}. Every one is optional. */
export interface ConnectionPoolOptions {
  /** Idle connections kept across all addresses (integer >= 0). Default 5, as OkHttp. */
  maxIdleConnections?: number;
  /** How long an idle connection is kept. Default `'5m'`, as OkHttp. */
  keepAlive?: Duration;
  /** Makes new connections. Default: the TCP/TLS connector of `src/transport` (wired in by the package entry point). */
  connector?: Connector;
  /**
   * The only clock and timer the pool uses. Default: an `asyncScheduler`-like scheduler whose
   * timers do not keep the process alive (as Node's own idle keep-alive sockets don't).
   * Tests pass a `VirtualTimeScheduler` or `TestScheduler`.
   */
  scheduler?: SchedulerLike;
  /** Connections per address, connecting ones included (integer >= 1 or Infinity). Default Infinity. */
  maxConnectionsPerAddress?: number;
  /** Connections in the whole pool, connecting ones included (integer >= 1 or Infinity). Default Infinity. */
  maxConnections?: number;
  /** How long an acquirer may wait for a slot under the limits. Default `'30s'`; may be Infinity. */
  acquireTimeout?: Duration;
  /** How long a connect may take. Default `'10s'`; may be Infinity. */
  connectTimeout?: Duration;
  /** How long `close()` waits for leases before closing them anyway. Default `'10s'`; may be Infinity. */
  drainTimeout?: Duration;
  /**
   * The longest a connection serves, from when its connect ended (HikariCP's `maxLifetime`,
   * undici's `clientTtl`): past it the connection takes no new exchange, finishes those it
   * carries, and closes (reason `max-lifetime`); an idle one closes at once. Each connection's
   * lifetime is shortened by a random jitter of up to 2.5 %, so that connections made together
   * do not all end together. Bounding it lets new connections reach backends that appeared
   * after the old ones were made (a DNS name that now resolves to more addresses). Default
   * `Infinity` (as OkHttp): a connection lives as long as it is used and healthy.
   */
  maxLifetime?: Duration;
  /**
   * How the pool remembers origins (address keys) whose connections were multiplexed (HTTP/2),
   * for `coalesce` acquirers (the dispatcher's): while such an origin has a connect in flight,
   * acquirers wait for it (as many as its stream limit will carry) rather than each opening a
   * connection of its own, also after the origin's last connection closed.
   *
   * - `max`: origins remembered, the least recently seen forgotten first. Default 256; 0
   *   remembers none (only an address with a connection still knows it is multiplexed).
   * - `forgetAfter`: an origin is forgotten this long after it was last seen multiplexed.
   *   Default `'10m'`; may be Infinity. One whose connection negotiates HTTP/1.1 is forgotten
   *   at once.
   * - `maxWait`: how long an acquirer waits for a connect in flight before it may open its
   *   own (a remembered origin that has become slow or changed). Default `'1s'`; may be Infinity.
   */
  multiplexedOrigins?: { max?: number; forgetAfter?: Duration; maxWait?: Duration };
  /**
   * The pool's source of randomness, a function returning a number in [0, 1) like
   * `Math.random` (the default). Used for the `maxLifetime` jitter; tests pass a fixed one.
   */
  random?: () => number;
  /** A lease held longer than this emits `lease-held-too-long` (once). Default: off. */
  leakDetectionThreshold?: Duration;
  /** Record where each lease was acquired, for leak reports. Costs a stack trace per acquire. Default false. */
  captureAcquireStacks?: boolean;
  /**
   * An XState inspection observer given to every connection actor (e.g. Stately's
   * inspector). While it is set, every actor transition happens as it occurs.
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** The options after validation, in milliseconds. */
export interface ResolvedPoolOptions {
  readonly maxIdleConnections: number;
  readonly keepAliveMs: number;
  readonly connector: Connector | undefined;
  readonly scheduler: SchedulerLike;
  readonly maxConnectionsPerAddress: number;
  readonly maxConnections: number;
  readonly acquireTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** `maxLifetime` in ms (Infinity: none). */
  readonly maxLifetimeMs: number;
  readonly random: () => number;
  /** `multiplexedOrigins`, durations in ms. */
  readonly multiplexedOrigins: { readonly max: number; readonly forgetAfterMs: number; readonly maxWaitMs: number };
  readonly leakDetectionThresholdMs: number | undefined;
  readonly captureAcquireStacks: boolean;
  readonly inspect: ConnectionPoolOptions['inspect'];
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'maxIdleConnections',
  'keepAlive',
  'connector',
  'scheduler',
  'maxConnectionsPerAddress',
  'maxConnections',
  'acquireTimeout',
  'connectTimeout',
  'drainTimeout',
  'maxLifetime',
  'multiplexedOrigins',
  'random',
  'leakDetectionThreshold',
  'captureAcquireStacks',
  'inspect',
]);

function count(option: string, value: unknown, fallback: number, min: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= min));
  if (!ok) {
    throw new InvalidOptionError(option, value, `an integer >= ${min}${allowInfinity ? ', or Infinity' : ''}`);
  }
  return value;
}

const MULTIPLEXED_ORIGINS_FIELDS: ReadonlySet<string> = new Set(['max', 'forgetAfter', 'maxWait']);

function resolveMultiplexedOrigins(value: unknown): ResolvedPoolOptions['multiplexedOrigins'] {
  if (value === undefined) value = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError('multiplexedOrigins', value, 'an object { max?, forgetAfter?, maxWait? }');
  }
  const v = value as Record<string, unknown>;
  for (const name of Object.keys(v)) {
    if (!MULTIPLEXED_ORIGINS_FIELDS.has(name)) {
      throw new InvalidOptionError(`multiplexedOrigins.${name}`, v[name], 'one of max, forgetAfter, maxWait; check the spelling');
    }
  }
  return {
    max: count('multiplexedOrigins.max', v.max, 256, 0, false),
    forgetAfterMs: v.forgetAfter === undefined ? 600_000 : parseDuration('multiplexedOrigins.forgetAfter', v.forgetAfter, true),
    maxWaitMs: v.maxWait === undefined ? 1_000 : parseDuration('multiplexedOrigins.maxWait', v.maxWait, true),
  };
}

/**
 * Validates pool options, throwing `ERR_INVALID_OPTION` that names the option and the value.
 * `defaultScheduler` is given by the pool (see `unref-scheduler.ts`).
 */
export function resolvePoolOptions(options: unknown, defaultScheduler: SchedulerLike = asyncScheduler): ResolvedPoolOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', options, 'an object of pool options');
  }
  const o = options as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new InvalidOptionError(name, o[name], `one of the known options (${[...KNOWN_OPTIONS].join(', ')}); check the spelling`);
    }
  }
  const connector = o.connector;
  if (connector !== undefined && (typeof connector !== 'object' || connector === null || typeof (connector as Connector).connect !== 'function')) {
    throw new InvalidOptionError('connector', connector, 'an object with a connect(address, { signal }) method');
  }
  const scheduler = o.scheduler;
  if (scheduler !== undefined && (typeof scheduler !== 'object' || scheduler === null || typeof (scheduler as SchedulerLike).schedule !== 'function' || typeof (scheduler as SchedulerLike).now !== 'function')) {
    throw new InvalidOptionError('scheduler', scheduler, 'an RxJS SchedulerLike (with now() and schedule())');
  }
  if (o.captureAcquireStacks !== undefined && typeof o.captureAcquireStacks !== 'boolean') {
    throw new InvalidOptionError('captureAcquireStacks', o.captureAcquireStacks, 'true or false');
  }
  if (o.random !== undefined && typeof o.random !== 'function') {
    throw new InvalidOptionError('random', o.random, 'a function returning a number in [0, 1), like Math.random');
  }
  const multiplexedOrigins = resolveMultiplexedOrigins(o.multiplexedOrigins);
  const inspect = o.inspect;
  if (inspect !== undefined && typeof inspect !== 'function' && (typeof inspect !== 'object' || inspect === null)) {
    throw new InvalidOptionError('inspect', inspect, 'an XState inspection observer (a function or an object with next())');
  }
  return {
    maxIdleConnections: count('maxIdleConnections', o.maxIdleConnections, 5, 0, false),
    keepAliveMs: o.keepAlive === undefined ? 5 * 60_000 : parseDuration('keepAlive', o.keepAlive, false),
    connector: connector as Connector | undefined,
    scheduler: (scheduler as SchedulerLike | undefined) ?? defaultScheduler,
    maxConnectionsPerAddress: count('maxConnectionsPerAddress', o.maxConnectionsPerAddress, Infinity, 1, true),
    maxConnections: count('maxConnections', o.maxConnections, Infinity, 1, true),
    acquireTimeoutMs: o.acquireTimeout === undefined ? 30_000 : parseDuration('acquireTimeout', o.acquireTimeout, true),
    connectTimeoutMs: o.connectTimeout === undefined ? 10_000 : parseDuration('connectTimeout', o.connectTimeout, true),
    drainTimeoutMs: o.drainTimeout === undefined ? 10_000 : parseDuration('drainTimeout', o.drainTimeout, true),
    maxLifetimeMs: o.maxLifetime === undefined ? Infinity : parseDuration('maxLifetime', o.maxLifetime, true),
    random: (o.random as (() => number) | undefined) ?? Math.random,
    multiplexedOrigins,
    leakDetectionThresholdMs:
      o.leakDetectionThreshold === undefined ? undefined : parseDuration('leakDetectionThreshold', o.leakDetectionThreshold, false),
    captureAcquireStacks: (o.captureAcquireStacks as boolean | undefined) ?? false,
    inspect: inspect as ConnectionPoolOptions['inspect'],
  };
}
