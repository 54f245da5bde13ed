import { describe, expect, it } from 'vitest';
import type { ConnectionLeakedEvent, ConnectionPool, LeaseHeldTooLongEvent, PoolEvent } from '../../src/pool/index.js';
import { poolUnderTest } from './support/pool-under-test.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('These tests need --expose-gc (vitest.config.ts passes it).');

/** Acquires and drops the lease without releasing it (in its own frame, so nothing keeps it). */
async function leakOne(pool: ConnectionPool, url: string): Promise<string> {
  const lease = await pool.acquire(url);
  return lease.connection.id;
}

/** Collects garbage until `done()` or a bounded number of rounds (finalizers run after a turn). */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let round = 0; round < 50 && !done(); round++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const leaked = (events: PoolEvent[]): ConnectionLeakedEvent[] =>
  events.filter((e): e is ConnectionLeakedEvent => e.type === 'connection-leaked');

describe('leak detection', () => {
  it('reports a lease garbage-collected without release, and closes its connection for good', async () => {
    const { pool, connector, events } = poolUnderTest();
    const id = await leakOne(pool, 'http://a.test');
    await collectUntil(() => leaked(events).length > 0);

    const [report] = leaked(events);
    expect(report).toMatchObject({ connectionId: id, address: 'http://a.test:80', acquiredAt: 0 });
    expect(report?.stack).toContain('captureAcquireStacks');
    expect(report?.message).toContain('without release()');
    expect(events.at(-1)).toMatchObject({ type: 'connection-closed', connectionId: id, reason: 'leaked' });
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(pool.stats()).toMatchObject({ connections: 0, leases: 0, totals: { leaked: 1 } });

    // Never handed to anyone again: the next acquire connects anew.
    const next = await pool.acquire('http://a.test');
    expect(next.connection.id).not.toBe(id);
    next.release();
  });

  it('names where the lease was acquired when captureAcquireStacks is on', async () => {
    const { pool, events } = poolUnderTest({ captureAcquireStacks: true });
    await leakOne(pool, 'http://a.test');
    await collectUntil(() => leaked(events).length > 0);
    expect(leaked(events)[0]?.stack).toContain('leakOne');
    expect(leaked(events)[0]?.message).toContain('It was acquired at');
  });

  it('does not report released leases, even once they are garbage', async () => {
    const { pool, events, connector } = poolUnderTest();
    for (let i = 0; i < 20; i++) (await pool.acquire('http://a.test')).release();
    // Make more garbage and give finalizers their chance.
    await collectUntil(() => false);
    expect(leaked(events)).toEqual([]);
    expect(connector.transports[0]?.closeCalls).toBe(0);
    expect(pool.stats().idle).toBe(1);
  });

  it('a leak on a shared (multiplexed) connection closes it once its other leases are released', async () => {
    const { pool, connector, events } = poolUnderTest();
    connector.manual = true;
    const first = pool.acquire('http://a.test');
    await Promise.resolve();
    const transport = connector.pending[0]?.succeed();
    if (transport) transport.allocationLimit = 4;
    const kept = await first;
    const id = await leakOne(pool, 'http://a.test');
    expect(id).toBe(kept.connection.id);
    await collectUntil(() => leaked(events).length > 0);
    expect(pool.connections()[0]).toMatchObject({ allocations: 1, noNewExchanges: true });
    kept.release();
    expect(events.at(-1)).toMatchObject({ type: 'connection-closed', reason: 'leaked' });
    expect(pool.connectionCount()).toBe(0);
  });
});

describe('leakDetectionThreshold', () => {
  it('warns once about a lease held too long, with its stack, without taking it back', async () => {
    const { pool, clock, events } = poolUnderTest({ leakDetectionThreshold: '2s', captureAcquireStacks: true });
    const lease = await pool.acquire('http://a.test');
    clock.advanceBy(1_999);
    expect(events.some((e) => e.type === 'lease-held-too-long')).toBe(false);
    clock.advanceBy(1);
    const warnings = events.filter((e): e is LeaseHeldTooLongEvent => e.type === 'lease-held-too-long');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ connectionId: 'c1', heldMs: 2_000, acquiredAt: 0 });
    expect(warnings[0]?.stack).toContain('leaks.test');
    expect(lease.connection.state).toBe('inUse');
    clock.advanceBy(10_000);
    expect(events.filter((e) => e.type === 'lease-held-too-long')).toHaveLength(1);
    lease.release();
  });

  it('stays quiet for leases released in time, and leaves no timer behind', async () => {
    const { pool, clock, events } = poolUnderTest({ leakDetectionThreshold: 100, keepAlive: 50 });
    for (let i = 0; i < 3; i++) {
      const lease = await pool.acquire('http://a.test');
      clock.advanceBy(60);
      lease.release();
    }
    clock.advanceBy(1_000);
    expect(events.some((e) => e.type === 'lease-held-too-long')).toBe(false);
    expect(pool.connectionCount()).toBe(0);
    expect(clock.pendingActions).toBe(0);
  });

  it('warns about each overdue lease in acquire order', async () => {
    const { pool, clock, events } = poolUnderTest({ leakDetectionThreshold: 100 });
    const a = await pool.acquire('http://a.test');
    clock.advanceBy(30);
    const b = await pool.acquire('http://b.test');
    clock.advanceBy(200);
    const warned = events.filter((e): e is LeaseHeldTooLongEvent => e.type === 'lease-held-too-long');
    expect(warned.map((e) => [e.connectionId, e.at])).toEqual([
      ['c1', 100],
      ['c2', 130],
    ]);
    a.release();
    b.release();
  });
});

describe('leak detection with transports that keep what they are given', () => {
  it('still sees a leak when the transport holds on to the connect signal (as net.connect does)', async () => {
    const { ConnectionPool } = await import('../../src/pool/index.js');
    const kept: AbortSignal[] = [];
    const pool = new ConnectionPool({
      connector: {
        connect: async (_address, { signal }) => {
          kept.push(signal);
          return { close: () => undefined };
        },
      },
    });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));
    await leakOne(pool, 'http://a.test');
    await collectUntil(() => leaked(events).length > 0);
    expect(leaked(events)).toHaveLength(1);
    expect(kept).toHaveLength(1);
    await pool.close();
  });
});
