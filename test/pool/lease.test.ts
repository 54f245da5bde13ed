import { describe, expect, it } from 'vitest';
import { settle } from './support/fake-connector.js';
import { poolUnderTest } from './support/pool-under-test.js';

describe('leases', () => {
  it('releasing twice is a no-op, never a double release', async () => {
    const { pool, types } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    lease.release();
    lease.release();
    expect(types().filter((t) => t === 'connection-released')).toHaveLength(1);
    expect(pool.stats()).toMatchObject({ leases: 0, idle: 1, totals: { released: 1 } });
  });

  it('a stale lease never frees a connection that someone else now holds', async () => {
    const { pool } = poolUnderTest();
    const stale = await pool.acquire('http://a.test');
    stale.release();
    const current = await pool.acquire('http://a.test');
    expect(current.connection.id).toBe(stale.connection.id);
    stale.release();
    stale.noNewExchanges();
    expect(current.connection.state).toBe('inUse');
    expect(pool.connections()[0]).toMatchObject({ allocations: 1, noNewExchanges: false });
    const other = await pool.acquire('http://a.test');
    expect(other.connection.id).not.toBe(current.connection.id);
  });

  it('the transport of a released lease is out of reach (ERR_LEASE_RELEASED)', async () => {
    const { pool, connector } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    expect(lease.transport).toBe(connector.transports[0]);
    lease.release();
    expect(lease.released).toBe(true);
    expect(() => lease.transport).toThrow(expect.objectContaining({ code: 'ERR_LEASE_RELEASED' }));
  });

  it('`using` releases at the end of the block', async () => {
    const { pool } = poolUnderTest();
    {
      using lease = await pool.acquire('http://a.test');
      expect(lease.connection.state).toBe('inUse');
    }
    expect(pool.stats()).toMatchObject({ leases: 0, idle: 1 });
  });

  it('connection is a live view: its state is read now, not at acquire time', async () => {
    const { pool } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    const view = lease.connection;
    expect(view.state).toBe('inUse');
    lease.release();
    expect(view.state).toBe('idle');
    pool.evictAll();
    expect(view.state).toBe('evicted');
  });

  it('noNewExchanges: no new lease, closed when the last lease is released', async () => {
    const { pool, connector, types } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    lease.noNewExchanges();
    expect(types()).toContain('no-new-exchanges');
    const other = await pool.acquire('http://a.test');
    expect(other.connection.id).toBe('c2');
    lease.release();
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(types().at(-1)).toBe('connection-closed');
    expect(pool.connectionCount()).toBe(1);
  });

  it('reuses the most recently idle connection first (LIFO)', async () => {
    const { pool, clock } = poolUnderTest();
    const [a, b, c] = await Promise.all([pool.acquire('http://a.test'), pool.acquire('http://a.test'), pool.acquire('http://a.test')]);
    b?.release();
    clock.advanceBy(1);
    c?.release();
    clock.advanceBy(1);
    a?.release();
    expect((await pool.acquire('http://a.test')).connection.id).toBe('c1');
    expect((await pool.acquire('http://a.test')).connection.id).toBe('c3');
    expect((await pool.acquire('http://a.test')).connection.id).toBe('c2');
  });

  it('concurrent acquirers do not wait for each other\'s connect: each opens its own', async () => {
    const { pool, connector } = poolUnderTest();
    connector.manual = true;
    const first = pool.acquire('http://a.test');
    const second = pool.acquire('http://a.test');
    await settle();
    expect(connector.pending).toHaveLength(2);
    expect(pool.stats()).toMatchObject({ connections: 2, connecting: 2 });
    expect(pool.connections().map((c) => c.state)).toEqual(['connecting', 'connecting']);
    connector.pending[1]?.succeed();
    expect((await second).connection.id).toBe('c2');
    connector.pending[0]?.succeed();
    expect((await first).connection.id).toBe('c1');
  });

  it('skips and evicts an unhealthy idle connection before anyone gets it', async () => {
    const { pool, connector, events } = poolUnderTest();
    (await pool.acquire('http://a.test')).release();
    (connector.transports[0] as { healthy: boolean }).healthy = false;
    const lease = await pool.acquire('http://a.test');
    expect(lease.connection.id).toBe('c2');
    expect(events.find((e) => e.type === 'connection-closed')).toMatchObject({ connectionId: 'c1', reason: 'unhealthy' });
  });

  it('a transport that closes by itself is evicted (peer-closed), idle or in use', async () => {
    const { pool, connector, events } = poolUnderTest();
    const held = await pool.acquire('http://a.test');
    (await pool.acquire('http://a.test')).release();
    connector.transports[1]?.peerClose();
    connector.transports[0]?.peerClose();
    const closed = events.filter((e) => e.type === 'connection-closed');
    expect(closed.map((e) => 'reason' in e && e.reason)).toEqual(['peer-closed', 'peer-closed']);
    expect(pool.connectionCount()).toBe(0);
    held.release(); // harmless after the fact
    expect(pool.stats().leases).toBe(0);
    // The pool still calls close() once, and removed its listener.
    expect(connector.transports.map((t) => [t.closeCalls, t.listenerCount])).toEqual([
      [1, 0],
      [1, 0],
    ]);
  });

  it('a multiplexed connection is shared up to its limit, least loaded first', async () => {
    const { pool, connector } = poolUnderTest();
    connector.manual = true;
    const p1 = pool.acquire('http://a.test');
    const p2 = pool.acquire('http://a.test');
    await settle();
    const t1 = connector.pending[0]?.succeed();
    const t2 = connector.pending[1]?.succeed();
    if (t1) t1.allocationLimit = 3;
    if (t2) t2.allocationLimit = 3;
    const [l1, l2] = await Promise.all([p1, p2]);
    const l3 = await pool.acquire('http://a.test');
    const l4 = await pool.acquire('http://a.test');
    expect([l1, l2, l3, l4].map((l) => l?.connection.id).sort()).toEqual(['c1', 'c1', 'c2', 'c2']);
    expect(pool.connections().map((c) => [c.id, c.allocations, c.allocationLimit])).toEqual([
      ['c1', 2, 3],
      ['c2', 2, 3],
    ]);
  });
});

describe('lease descriptions', () => {
  it('reports say what the lease was for', async () => {
    const { pool, clock, events } = poolUnderTest({ leakDetectionThreshold: 100 });
    const lease = await pool.acquire('http://a.test');
    expect(lease.reused).toBe(false);
    lease.describe('GET http://a.test/orders: response body not read to the end');
    clock.advanceBy(100);
    const warning = events.find((e) => e.type === 'lease-held-too-long');
    expect(warning && 'message' in warning && warning.message).toContain('(GET http://a.test/orders: response body not read to the end)');
    lease.release();
    const again = await pool.acquire('http://a.test');
    expect(again.reused).toBe(true);
    again.release();
  });
});
