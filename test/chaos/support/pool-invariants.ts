import { expect } from 'vitest';
import type { ConnectionPool, PoolEvent } from '../../../src/pool/index.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * What must hold of a pool at rest, whatever it went through: its counts agree with
 * `connections()`, as its actors say; nothing is leased or waiting.
 */
export function expectPoolAtRest(pool: ConnectionPool): void {
  const stats = pool.stats();
  const connections = pool.connections();
  const byState = (state: string): number => connections.filter((c) => c.state === state).length;
  expect({
    leases: stats.leases,
    waiters: stats.waiters,
    inUse: stats.inUse,
    connections: stats.connections,
    connectionCount: pool.connectionCount(),
    idle: stats.idle,
    idleConnectionCount: pool.idleConnectionCount(),
    connecting: stats.connecting,
    allocations: connections.reduce((sum, c) => sum + c.allocations, 0),
  }).toEqual({
    leases: 0,
    waiters: 0,
    inUse: 0,
    connections: connections.length,
    connectionCount: connections.length,
    idle: byState('idle'),
    idleConnectionCount: byState('idle'),
    connecting: byState('connecting'),
    allocations: 0,
  });
  expect(byState('inUse')).toBe(0);
}

/**
 * Waits (bounded) for the leases and waiters left by requests that gave up early to be
 * settled: a request that reached its deadline while its acquire was queued leaves the acquire
 * to end by itself (served, or `acquireTimeout`), and a connect in flight ends by `connectTimeout`.
 */
export async function settle(pool: ConnectionPool, timeoutMs: number): Promise<void> {
  await waitFor(
    () => {
      const stats = pool.stats();
      return stats.leases === 0 && stats.waiters === 0 && stats.connecting === 0;
    },
    'every lease to be released and every waiter and connect to end',
    timeoutMs,
  );
}

/** Counts of a pool's events by type (and connection-closed by reason). */
export function eventCounts(events: readonly PoolEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of events) {
    const key = event.type === 'connection-closed' ? `connection-closed:${event.reason}` : event.type;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * After `close()`: nothing is left, and every connection the pool made was closed exactly
 * once, as its events and totals say.
 */
export function expectClosedCleanly(pool: ConnectionPool, events: readonly PoolEvent[]): void {
  const stats = pool.stats();
  expect(stats.state).toBe('closed');
  expect(pool.connectionCount()).toBe(0);
  expect(pool.connections()).toEqual([]);
  expect(stats.leases).toBe(0);
  const made = events.filter((e) => e.type === 'connect-end').length;
  const closed = events.filter((e) => e.type === 'connection-closed').length;
  const started = events.filter((e) => e.type === 'connect-start').length;
  const failed = events.filter((e) => e.type === 'connect-failed').length;
  expect({ started, made, closed }).toEqual({ started: made + failed, made, closed: made });
  expect(stats.totals.connects - stats.totals.connectFailures).toBe(stats.totals.closed);
  // Each connection closed once: no id appears twice among the closes.
  const closedIds = events.flatMap((e) => (e.type === 'connection-closed' ? [e.connectionId] : []));
  expect(new Set(closedIds).size).toBe(closedIds.length);
}
