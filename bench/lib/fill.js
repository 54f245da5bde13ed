// Builds pools full of idle connections at known (virtual) times, for the cleanup benches.

import { VirtualTimeScheduler } from 'rxjs';
import { ConnectionPool } from '../../dist/index.js';
import { BENCH_URL, fakeConnector } from './stats.js';

/**
 * A pool on a VirtualTimeScheduler (its clock moves only when we move it, and its cleanup
 * loop never runs by itself: nothing calls `scheduler.flush()`), with no connect timeout
 * (each would be a timer in the virtual queue) and no idle limit that could bite.
 */
export function virtualPool(keepAliveMs) {
  const scheduler = new VirtualTimeScheduler();
  const pool = new ConnectionPool({
    connector: fakeConnector,
    scheduler,
    keepAlive: keepAliveMs,
    maxIdleConnections: 10_000_000,
    connectTimeout: Infinity,
  });
  return { pool, scheduler };
}

/** Sets the virtual clock (what `scheduler.now()` returns) without running anything queued. */
export function setTime(scheduler, ms) {
  scheduler.frame = ms;
}

/**
 * Opens `total` connections at once (all leased together, so each is a new connection),
 * then releases them in groups: `groups` is a list of `[count, atMs]`, released in order
 * with the virtual clock at `atMs`, so that each group is idle since a known time.
 */
export async function fillIdle(pool, scheduler, groups) {
  const total = groups.reduce((sum, [count]) => sum + count, 0);
  const pending = new Array(total);
  for (let i = 0; i < total; i++) pending[i] = pool.acquire(BENCH_URL);
  const leases = await Promise.all(pending);
  let next = 0;
  for (const [count, atMs] of groups) {
    setTime(scheduler, atMs);
    for (let i = 0; i < count; i++) leases[next++].release();
  }
  if (pool.connectionCount() !== total) {
    throw new Error(`expected ${total} connections, the pool holds ${pool.connectionCount()}`);
  }
}

/** Bench 3's numbers: 10k of 100k idle connections expire, with keepAlive 60 s. */
export const EVICTION = Object.freeze({ total: 100_000, expired: 10_000, keepAliveMs: 60_000 });

/**
 * Bench 3's scene: a pool of `EVICTION.total` idle connections, `EVICTION.expired` of them idle
 * since t=0 and the others since t=1 s, and the clock at keepAlive + 0.5 s, when only the first
 * group is due. Returns the pool and that `now`; the next pass of `cleanup(now)` evicts.
 */
export async function evictionScene() {
  const { pool, scheduler } = virtualPool(EVICTION.keepAliveMs);
  await fillIdle(pool, scheduler, [
    [EVICTION.expired, 0],
    [EVICTION.total - EVICTION.expired, 1_000],
  ]);
  const now = EVICTION.keepAliveMs + 500;
  setTime(scheduler, now);
  return { pool, now };
}
