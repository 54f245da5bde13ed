import { describe, expect, it } from 'vitest';
import type { CleanupTick } from '../../src/pool/index.js';
import { poolUnderTest } from './support/pool-under-test.js';

describe('the cleanup stream, in virtual time', () => {
  it('ticks exactly where the returned delays say, and stops when the pool is empty', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 100, maxIdleConnections: 5 });
    const ticks: CleanupTick[] = [];
    pool.cleanupTicks$.subscribe((tick) => ticks.push(tick));

    const a = await pool.acquire('http://a.test'); // put: the loop starts, all in use -> keepAlive
    clock.advanceTo(30);
    a.release(); // idle since 30; the pending tick at 100 is still early enough
    const b = await pool.acquire('http://b.test');
    clock.advanceTo(60);
    b.release(); // idle since 60
    clock.advanceTo(1_000);

    expect(ticks.map(({ at, delay, evicted }) => [at, delay, evicted])).toEqual([
      [0, 100, 0], // on put: one connection in use
      [100, 30, 0], // a idle since 30 expires at 130
      [130, 30, 1], // a evicted (cleanup returned 0, ran again at once); b expires at 160
      [160, -1, 1], // b evicted; empty: the loop stops
    ]);
    for (let i = 1; i < ticks.length; i++) {
      const previous = ticks[i - 1] as CleanupTick;
      expect(ticks[i]?.at).toBe(previous.at + previous.delay);
    }
    expect(clock.pendingActions).toBe(0);
    expect(pool.stats().cleanup).toEqual({ lastTickAt: 160, lastDelay: -1, nextTickAt: null });
  });

  it('an empty pool holds no scheduled action, before and after use', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 50 });
    expect(clock.pendingActions).toBe(0);
    (await pool.acquire('http://a.test')).release();
    expect(clock.pendingActions).toBe(1);
    clock.advanceBy(50);
    expect(pool.connectionCount()).toBe(0);
    expect(clock.pendingActions).toBe(0);
  });

  it('restarts when a connection is put into a stopped loop, and when one becomes idle', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 50 });
    const ticks: CleanupTick[] = [];
    pool.cleanupTicks$.subscribe((tick) => ticks.push(tick));
    (await pool.acquire('http://a.test')).release();
    clock.advanceBy(50);
    expect(ticks.at(-1)?.delay).toBe(-1);
    clock.advanceTo(500);
    (await pool.acquire('http://a.test')).release();
    expect(ticks.at(-1)).toEqual({ at: 500, delay: 50, evicted: 0 });
  });

  it('a cleanup that throws is reported and the loop goes on', async () => {
    const { pool, clock, events } = poolUnderTest({ keepAlive: 100 });
    const ticks: CleanupTick[] = [];
    pool.cleanupTicks$.subscribe((tick) => ticks.push(tick));
    (await pool.acquire('http://a.test')).release();
    const original = pool.cleanup.bind(pool);
    let failures = 1;
    pool.cleanup = (now: number): number => {
      if (failures-- > 0) throw new Error('cleanup exploded');
      return original(now);
    };
    clock.advanceTo(100);
    expect(events.find((e) => e.type === 'cleanup-failed')).toMatchObject({ at: 100, error: { message: 'cleanup exploded' } });
    expect(ticks.at(-1)).toEqual({ at: 100, delay: 1_000, evicted: 0 });
    clock.advanceTo(1_100);
    expect(pool.connectionCount()).toBe(0);
    expect(ticks.at(-1)).toEqual({ at: 1_100, delay: -1, evicted: 1 });
  });

  it('evicts a burst of expired connections in one tick, without a timer hop between them', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 10, maxIdleConnections: 100 });
    const ticks: CleanupTick[] = [];
    pool.cleanupTicks$.subscribe((tick) => ticks.push(tick));
    const leases = await Promise.all(Array.from({ length: 50 }, () => pool.acquire('http://a.test')));
    for (const lease of leases) lease.release();
    clock.advanceBy(10);
    expect(ticks.at(-1)).toEqual({ at: 10, delay: -1, evicted: 50 });
  });
});
