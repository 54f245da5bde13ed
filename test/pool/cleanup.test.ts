import { describe, expect, it } from 'vitest';
import { poolUnderTest } from './support/pool-under-test.js';

// The behaviours OkHttp's ConnectionPoolTest pins down, in our terms: cleanup(now) returns
// the ms until the next eviction (0 after evicting one, keepAlive when all are in use, -1
// when the pool is empty).
describe('cleanup(now): the seed algorithm', () => {
  it('counts down to keep-alive expiry, evicts at it, then reports an empty pool', async () => {
    const { pool, clock, connector } = poolUnderTest({ keepAlive: 100, maxIdleConnections: 10 });
    clock.advanceTo(50);
    (await pool.acquire('http://a.test')).release();

    expect(pool.cleanup(50)).toBe(100);
    expect(pool.cleanup(60)).toBe(90);
    expect(pool.cleanup(149)).toBe(1);
    expect(pool.connectionCount()).toBe(1);
    expect(pool.cleanup(150)).toBe(0);
    expect(pool.connectionCount()).toBe(0);
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(pool.cleanup(150)).toBe(-1);
  });

  it('never evicts a connection in use, and returns keepAlive while all are in use', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 100, maxIdleConnections: 0 });
    const lease = await pool.acquire('http://a.test');
    expect(pool.cleanup(clock.now)).toBe(100);
    expect(pool.cleanup(10_000)).toBe(100);
    expect(pool.connectionCount()).toBe(1);
    expect(lease.connection.state).toBe('inUse');
  });

  it('evicts the connection idle longest first, then waits for the other one', async () => {
    const { pool, clock, connector } = poolUnderTest({ keepAlive: 100, maxIdleConnections: 10 });
    clock.advanceTo(50);
    const a = await pool.acquire('http://a.test');
    const b = await pool.acquire('http://a.test');
    a.release();
    clock.advanceTo(75);
    b.release();

    expect(pool.cleanup(76)).toBe(74);
    expect(pool.cleanup(150)).toBe(0);
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(connector.transports[1]?.closeCalls).toBe(0);
    expect(pool.cleanup(150)).toBe(25);
    expect(pool.cleanup(175)).toBe(0);
    expect(connector.transports[1]?.closeCalls).toBe(1);
    expect(pool.cleanup(175)).toBe(-1);
  });

  it('evicts the oldest at once when a third connection goes idle over maxIdleConnections = 2', async () => {
    const { pool, clock, connector, events } = poolUnderTest({ keepAlive: 100, maxIdleConnections: 2 });
    const leases = await Promise.all([pool.acquire('http://a.test'), pool.acquire('http://a.test'), pool.acquire('http://b.test')]);
    clock.advanceTo(10);
    leases[0]?.release();
    clock.advanceTo(20);
    leases[1]?.release();
    expect(pool.idleConnectionCount()).toBe(2);

    clock.advanceTo(30);
    leases[2]?.release();
    // No time passes: the release itself ran the cleanup.
    expect(pool.idleConnectionCount()).toBe(2);
    expect(connector.transports.map((t) => t.closeCalls)).toEqual([1, 0, 0]);
    const closed = events.filter((e) => e.type === 'connection-closed');
    expect(closed).toMatchObject([{ connectionId: 'c1', reason: 'idle-limit', at: 30 }]);
  });

  it('with maxIdleConnections = 0 closes a connection as soon as it is released', async () => {
    const { pool, connector, events } = poolUnderTest({ maxIdleConnections: 0 });
    (await pool.acquire('http://a.test')).release();
    expect(pool.connectionCount()).toBe(0);
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'connection-closed', reason: 'idle-limit' });
  });

  it('costs no scan: a pass with nothing due reads only the oldest idle connection', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 1_000, maxIdleConnections: 1_000 });
    const leases = await Promise.all(Array.from({ length: 200 }, () => pool.acquire('http://a.test')));
    leases.forEach((lease, i) => {
      clock.advanceTo(i);
      lease.release();
    });
    // Idle since 0..199: the next expiry is that of the first one, whatever the count.
    expect(pool.cleanup(500)).toBe(500);
    expect(pool.cleanup(1_000)).toBe(0);
    expect(pool.cleanup(1_000)).toBe(1);
    expect(pool.connectionCount()).toBe(199);
  });
});

describe('evictAll() and evict(id)', () => {
  it('evictAll closes idle connections only and says how many', async () => {
    const { pool, connector, events } = poolUnderTest();
    const held = await pool.acquire('http://a.test');
    (await pool.acquire('http://a.test')).release();
    (await pool.acquire('http://b.test')).release();
    expect(pool.evictAll()).toBe(2);
    expect(pool.connectionCount()).toBe(1);
    expect(held.connection.state).toBe('inUse');
    expect(connector.transports.map((t) => t.closeCalls)).toEqual([0, 1, 1]);
    expect(events.filter((e) => e.type === 'connection-closed').map((e) => 'reason' in e && e.reason)).toEqual(['evict-all', 'evict-all']);
  });

  it('evict(id) closes an idle connection at once and a leased one when it is released', async () => {
    const { pool, connector, events } = poolUnderTest();
    const held = await pool.acquire('http://a.test');
    (await pool.acquire('http://a.test')).release();
    expect(pool.evict('c2')).toBe(true);
    expect(connector.transports[1]?.closeCalls).toBe(1);

    expect(pool.evict(held.connection.id)).toBe(true);
    expect(connector.transports[0]?.closeCalls).toBe(0);
    expect(pool.connections()[0]).toMatchObject({ id: 'c1', noNewExchanges: true, state: 'inUse' });
    held.release();
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(events.filter((e) => e.type === 'connection-closed').map((e) => 'reason' in e && e.reason)).toEqual(['evicted', 'evicted']);
    expect(pool.evict('c1')).toBe(false);
    expect(pool.evict('no-such-id')).toBe(false);
  });
});
