import { describe, expect, it } from 'vitest';
import type { CleanupTick } from '../../src/pool/index.js';
import { ExpiryHeap } from '../../src/pool/expiry-heap.js';
import { poolUnderTest } from './support/pool-under-test.js';

describe('a transport whose peer allows less than keepAlive (Transport.idleTimeout)', () => {
  it('is evicted at its own expiry, and the next tick follows the other connections', async () => {
    const { pool, clock, connector, events } = poolUnderTest({ keepAlive: 1_000 });
    const ticks: CleanupTick[] = [];
    pool.cleanupTicks$.subscribe((tick) => ticks.push(tick));
    const [a, b] = await Promise.all([pool.acquire('http://a.test'), pool.acquire('http://a.test')]);
    (connector.transports[1] as { idleTimeout?: number }).idleTimeout = 200;
    a?.release();
    clock.advanceTo(100);
    b?.release(); // its own life: expires at 300, before the pending tick at 1000

    expect(pool.cleanup(150)).toBe(150);
    clock.advanceTo(299);
    expect(pool.connectionCount()).toBe(2);
    clock.advanceTo(300);
    expect(pool.connections().map((c) => c.id)).toEqual(['c1']);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ connectionId: 'c2', reason: 'keep-alive-expired' }]);
    expect(ticks.at(-1)).toEqual({ at: 300, delay: 700, evicted: 1 });
    clock.advanceTo(1_000);
    expect(pool.connectionCount()).toBe(0);
  });

  it('is not pooled at all when its idle timeout is zero', async () => {
    const { pool, connector, events } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    (connector.transports[0] as { idleTimeout?: number }).idleTimeout = 0;
    lease.release();
    expect(pool.connectionCount()).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: 'connection-closed', reason: 'keep-alive-expired' });
  });

  it('leaves the short-lived index when it is reused', async () => {
    const { pool, clock, connector } = poolUnderTest({ keepAlive: 1_000 });
    (await pool.acquire('http://a.test')).release();
    (connector.transports[0] as { idleTimeout?: number }).idleTimeout = 100;
    (await pool.acquire('http://a.test')).release(); // idle again at 0, expires at 100
    const held = await pool.acquire('http://a.test');
    clock.advanceTo(500);
    expect(held.connection.state).toBe('inUse');
    held.release();
    clock.advanceTo(599);
    expect(pool.connectionCount()).toBe(1);
    clock.advanceTo(600);
    expect(pool.connectionCount()).toBe(0);
  });
});

describe('ExpiryHeap', () => {
  it('yields entries in expiry order through any mix of pushes and removals', () => {
    const heap = new ExpiryHeap<{ expiresAt: number; heapIndex: number }>();
    const entries = [50, 10, 40, 30, 20, 60, 5].map((expiresAt) => ({ expiresAt, heapIndex: -1 }));
    for (const entry of entries) heap.push(entry);
    heap.remove(entries[2] as { expiresAt: number; heapIndex: number }); // 40
    heap.remove(entries[6] as { expiresAt: number; heapIndex: number }); // 5
    heap.remove(entries[6] as { expiresAt: number; heapIndex: number }); // twice: no-op
    const order: number[] = [];
    while (heap.size > 0) {
      const top = heap.peek() as { expiresAt: number; heapIndex: number };
      order.push(top.expiresAt);
      heap.remove(top);
    }
    expect(order).toEqual([10, 20, 30, 50, 60]);
  });
});
