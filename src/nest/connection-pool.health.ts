import { Injectable } from '@nestjs/common';
import type * as Terminus from '@nestjs/terminus';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import {
  AddressResolver,
  InvalidOptionError,
  parseDuration,
  type AddressInput,
  type ConnectionPool,
  type Duration,
  type PoolStats,
} from '../pool/index.js';
import type { AddressConnectRecord } from './connection-pool.activity.js';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';
import { loadOptionalPeer } from './optional-peer.js';

/** Options of {@link ConnectionPoolHealthIndicator.isHealthy} (readiness). */
export interface ConnectionPoolReadinessOptions {
  /** The pool's name. Default: the default pool. */
  readonly pool?: string;
  /** How far back "recently" reaches: connect failures, acquire timeouts, leaks. Default `'30s'`. */
  readonly window?: Duration;
  /** Failed connects in a row (the last one within the window) that make an address unreachable. Default 1. */
  readonly minConnectFailures?: number;
  /**
   * The upstreams this instance cannot serve without: an unreachable one makes readiness
   * `down`. Any other unreachable address only makes it `degraded` (still 200), so that one
   * dead third-party host does not take every pod of the app out of its Service. Each is
   * what `acquire` takes (a URL, `{ host, port, tls? }`) and matches every pool address of
   * its origin (scheme, host, port), whatever its TLS options; `'all'`: every address is
   * critical (readiness before this option). Default: none.
   */
  readonly criticalAddresses?: readonly AddressInput[] | 'all';
  /** Acquirers waiting for a slot that make the pool `degraded`. Default 1; `Infinity` turns it off. */
  readonly degradedWaiters?: number;
  /**
   * Busy connections (connecting or in use) over a limit (`maxConnections`, or
   * `maxConnectionsPerAddress` for the busiest address) that make the pool `degraded`: a
   * fraction in (0, 1]. Default 0.9; `Infinity` turns it off. Infinite limits never count.
   */
  readonly degradedUtilization?: number;
}

/** Options of {@link ConnectionPoolHealthIndicator.isAlive} (liveness). */
export interface ConnectionPoolLivenessOptions {
  /** The pool's name. Default: the default pool. */
  readonly pool?: string;
  /** How late the cleanup stream's next tick may be before the pool counts as stalled. Default `'30s'`. */
  readonly grace?: Duration;
}

/** What readiness reports about a pool (`status` is added by terminus). */
// A type, not an interface: terminus wants an object with an index signature.
export type ConnectionPoolReadinessDetails = {
  readonly pool: string;
  readonly state: PoolStats['state'];
  readonly connections: { readonly total: number; readonly connecting: number; readonly idle: number; readonly inUse: number };
  readonly leases: number;
  readonly waiters: number;
  /** The pool's limits; null stands for Infinity (JSON has no Infinity). */
  readonly limits: { readonly maxConnections: number | null; readonly maxConnectionsPerAddress: number | null };
  /** Busy connections over the tightest finite limit (0..1), or null if every limit is Infinity. */
  readonly utilization: number | null;
  /** Unreachable addresses, each saying whether it is critical (it makes readiness `down`). */
  readonly connectFailures: { readonly total: number; readonly unreachable: readonly UnreachableAddress[] };
  /** The origins declared critical (`criticalAddresses`), or `'all'`. */
  readonly criticalAddresses: readonly string[] | 'all';
  readonly acquireTimeouts: { readonly total: number; readonly recent: number };
  readonly leaks: { readonly total: number; readonly recent: number; readonly recentHeldTooLong: number };
  readonly cleanup: PoolStats['cleanup'];
  readonly windowMs: number;
  /** Why the pool is down or degraded; empty when up. */
  readonly reasons: readonly string[];
  /** The reasons in one line, when there are any (terminus shows `message`). */
  readonly message?: string;
};

/** An address whose recent connects all failed, as readiness reports it. */
export type UnreachableAddress = AddressConnectRecord & {
  /** Whether it is one of `criticalAddresses` (then readiness is `down`; else `degraded`). */
  readonly critical: boolean;
};

/** What liveness reports about a pool. */
export type ConnectionPoolLivenessDetails = {
  readonly pool: string;
  readonly state: PoolStats['state'];
  readonly cleanup: PoolStats['cleanup'] & { readonly overdueMs: number };
  readonly graceMs: number;
  readonly message?: string;
};

const DEFAULT_WINDOW_MS = 30_000;
const DEFAULT_GRACE_MS = 30_000;

/**
 * `@nestjs/terminus` health indicator for the application's pools, with two checks that are
 * meant for two different probes:
 *
 * - **Readiness**, {@link isHealthy}: "send me traffic". `down` while the pool is closing or
 *   closed, when acquirers are timing out, or when an address the app declared critical
 *   (`criticalAddresses`) has had all its recent connects fail; `degraded` (HTTP 200 still)
 *   when any other address is unreachable, on a recent leak or lease held too long, on
 *   waiters, or near a connection limit; `up` otherwise. So a failing dependency the app can
 *   do without never cascades into pods leaving their Service. Details: connections by
 *   state, waiters, limits, failures, leaks, cleanup.
 * - **Liveness**, {@link isAlive}: "restart me". Cheap and dependency-free: it only checks
 *   that the pool's own machinery runs (the cleanup stream is not late past a grace), never
 *   an upstream, so that an upstream outage never gets pods restarted.
 *
 * Provide it with {@link ConnectionPoolHealthModule} (or list it in the providers of a module
 * that imports `TerminusModule`).
 *
 * @example
 * ```ts
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly pools: ConnectionPoolHealthIndicator) {}
 *
 *   @Get('ready') @HealthCheck()
 *   ready() {
 *     return this.health.check([() => this.pools.isHealthy('pool'), () => this.pools.isHealthy('payments', { pool: 'payments' })]);
 *   }
 *
 *   @Get('live') @HealthCheck()
 *   live() {
 *     return this.health.check([() => this.pools.isAlive('pool')]);
 *   }
 * }
 * ```
 */
@Injectable()
export class ConnectionPoolHealthIndicator {
  private readonly healthIndicatorService: HealthIndicatorService;

  /** @throws MissingPeerDependencyError (`ERR_MISSING_PEER_DEPENDENCY`) when @nestjs/terminus is not installed. */
  constructor(private readonly pools: ConnectionPoolRegistry) {
    // terminus's stateless result builder, loaded now rather than when this file is imported:
    // an application without terminus can import reactive-connection-pool/nest.
    const terminus = loadOptionalPeer<typeof Terminus>('@nestjs/terminus', 'ConnectionPoolHealthIndicator');
    this.healthIndicatorService = new terminus.HealthIndicatorService();
  }

  /**
   * Readiness of one pool, under `key` in the terminus result. `degraded` answers 200 with
   * the overall status `degraded`; `down` answers 503.
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for an unknown pool or a bad option: a
   * health check that is wrong is a bug to fix, not a state of the pool to report.
   */
  isHealthy<const Key extends string>(key: Key, options: ConnectionPoolReadinessOptions = {}): HealthIndicatorResult<Key> {
    const windowMs = options.window === undefined ? DEFAULT_WINDOW_MS : parseDuration('window', options.window, false);
    const minFailures = positiveInteger('minConnectFailures', options.minConnectFailures, 1, false);
    const degradedWaiters = positiveInteger('degradedWaiters', options.degradedWaiters, 1, true);
    const degradedUtilization = fraction('degradedUtilization', options.degradedUtilization, 0.9);
    const critical = criticalOrigins(options.criticalAddresses);
    const { name, pool, activity } = this.pools.get(options.pool);
    const session = this.healthIndicatorService.check(key);

    const now = pool.options.scheduler.now();
    const stats = pool.stats();
    activity.observeAcquireTimeouts(now, stats.totals.acquireTimeouts);
    const unreachable: UnreachableAddress[] = activity
      .failingAddresses(now, windowMs, minFailures)
      .map((record) => ({ ...record, critical: critical === 'all' || critical.includes(originOf(record.address)) }));
    const recentTimeouts = activity.recentAcquireTimeouts(now, windowMs);
    const recentLeaks = activity.recentLeaks(now, windowMs);
    const recentHeldTooLong = activity.recentLeasesHeldTooLong(now, windowMs);
    const utilization = utilizationOf(pool, stats);

    const down: string[] = [];
    if (stats.state !== 'open') down.push(`the pool is ${stats.state}`);
    const degraded: string[] = [];
    for (const record of unreachable) {
      const why = record.lastError ? `: ${record.lastError.code ?? record.lastError.name} ${record.lastError.message}` : '';
      const reason = `${record.address} is unreachable: its last ${record.consecutiveFailures} connect(s) failed${why}`;
      if (record.critical) down.push(`${reason} (a critical address)`);
      else degraded.push(`${reason} (not a critical address)`);
    }
    if (recentTimeouts > 0) down.push(`${recentTimeouts} acquire(s) timed out (ERR_ACQUIRE_TIMEOUT) in the last ${windowMs} ms`);

    if (recentLeaks > 0) degraded.push(`${recentLeaks} lease(s) leaked (garbage-collected without release) in the last ${windowMs} ms`);
    if (recentHeldTooLong > 0) degraded.push(`${recentHeldTooLong} lease(s) held longer than leakDetectionThreshold in the last ${windowMs} ms`);
    if (stats.waiters >= degradedWaiters) degraded.push(`${stats.waiters} acquirer(s) waiting for a connection slot`);
    if (utilization !== null && utilization >= degradedUtilization) {
      degraded.push(`busy connections at ${Math.round(utilization * 100)}% of a connection limit`);
    }

    const reasons = down.length > 0 ? down : degraded;
    const details: ConnectionPoolReadinessDetails = {
      pool: name,
      state: stats.state,
      connections: { total: stats.connections, connecting: stats.connecting, idle: stats.idle, inUse: stats.inUse },
      leases: stats.leases,
      waiters: stats.waiters,
      limits: {
        maxConnections: finiteOrNull(pool.options.maxConnections),
        maxConnectionsPerAddress: finiteOrNull(pool.options.maxConnectionsPerAddress),
      },
      utilization,
      connectFailures: { total: stats.totals.connectFailures, unreachable },
      criticalAddresses: critical,
      acquireTimeouts: { total: stats.totals.acquireTimeouts, recent: recentTimeouts },
      leaks: { total: stats.totals.leaked, recent: recentLeaks, recentHeldTooLong },
      cleanup: stats.cleanup,
      windowMs,
      reasons,
      ...(reasons.length > 0 ? { message: reasons.join('; ') } : {}),
    };
    if (down.length > 0) return session.down(details);
    // terminus 11 has no `degraded` status: there the pool is `up`, with its reasons in the details.
    if (degraded.length > 0) return typeof session.degraded === 'function' ? session.degraded(details) : session.up(details);
    return session.up(details);
  }

  /**
   * Liveness of one pool: `down` only if the cleanup stream's next tick is overdue by more
   * than `grace` (the pool's timers no longer run). A closed pool, an unreachable upstream or
   * a busy pool are all still alive.
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for an unknown pool or a bad option.
   */
  isAlive<const Key extends string>(key: Key, options: ConnectionPoolLivenessOptions = {}): HealthIndicatorResult<Key> {
    const graceMs = options.grace === undefined ? DEFAULT_GRACE_MS : parseDuration('grace', options.grace, true);
    const { name, pool } = this.pools.get(options.pool);
    const session = this.healthIndicatorService.check(key);
    const now = pool.options.scheduler.now();
    const stats = pool.stats();
    const due = stats.cleanup.nextTickAt;
    const overdueMs = due === null ? 0 : Math.max(0, now - due);
    const details: ConnectionPoolLivenessDetails = {
      pool: name,
      state: stats.state,
      cleanup: { ...stats.cleanup, overdueMs },
      graceMs,
    };
    if (overdueMs > graceMs) {
      return session.down({
        ...details,
        message: `the cleanup stream is stalled: its tick was due ${overdueMs} ms ago (grace ${graceMs} ms)`,
      });
    }
    return session.up(details);
  }
}

/**
 * The highest ratio of busy connections (connecting or in use) to a finite limit: the whole
 * pool's, or the busiest address's. Idle connections do not count: they are free to reuse,
 * and under `maxConnections` the pool closes them to make room for another address.
 */
function utilizationOf(pool: ConnectionPool, stats: PoolStats): number | null {
  const { maxConnections, maxConnectionsPerAddress } = pool.options;
  if (maxConnections === Infinity && maxConnectionsPerAddress === Infinity) return null;
  const busy = stats.connecting + stats.inUse;
  let utilization = maxConnections === Infinity ? 0 : busy / maxConnections;
  if (maxConnectionsPerAddress !== Infinity && busy > 0) {
    const perAddress = new Map<string, number>();
    let busiest = 0;
    for (const connection of pool.connections()) {
      if (connection.state === 'idle') continue;
      const count = (perAddress.get(connection.address) ?? 0) + 1;
      perAddress.set(connection.address, count);
      busiest = Math.max(busiest, count);
    }
    utilization = Math.max(utilization, busiest / maxConnectionsPerAddress);
  }
  return utilization;
}

/** The origin (`scheme://host:port`) an address's shown form starts with: what critical addresses match. */
function originOf(shown: string): string {
  // The shown form is the origin, then " via ..." and "#fingerprint" when more shapes the connection.
  const end = shown.search(/[ #]/);
  return end === -1 ? shown : shown.slice(0, end);
}

const resolver = new AddressResolver(64);

function criticalOrigins(value: unknown): readonly string[] | 'all' {
  if (value === undefined) return [];
  if (value === 'all') return 'all';
  if (!Array.isArray(value)) {
    throw new InvalidOptionError('criticalAddresses', value, "a list of addresses (URLs or { host, port }) whose failure makes readiness down, or 'all'");
  }
  return value.map((input: unknown, index) => {
    try {
      return originOf(String(resolver.resolve(input as AddressInput)));
    } catch {
      // A URL is shown without its credentials and query: an error must never carry a secret.
      const shown = typeof input === 'string' ? input.replace(/\/\/[^/@]*@/, '//***@').replace(/[?#].*$/s, '') : input;
      throw new InvalidOptionError(`criticalAddresses[${index}]`, shown, "an address as acquire() takes it: a URL ('https://api.example.com') or { host, port }");
    }
  });
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function positiveInteger(option: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && ((allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= 1))) return value;
  throw new InvalidOptionError(option, value, `an integer >= 1${allowInfinity ? ', or Infinity (off)' : ''}`);
}

function fraction(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && (value === Infinity || (value > 0 && value <= 1))) return value;
  throw new InvalidOptionError(option, value, 'a fraction in (0, 1], or Infinity (off)');
}
