import { describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/pool/index.js';
import { poolUnderTest } from './support/pool-under-test.js';

describe('the order of events', () => {
  it('a first use: connect-start, connect-end, connection-acquired, connection-released', async () => {
    const { pool, types, events } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    lease.release();
    expect(types()).toEqual(['connect-start', 'connect-end', 'connection-acquired', 'connection-released']);
    expect(events[2]).toMatchObject({ reused: false, connectionId: 'c1', address: 'http://a.test:80', allocations: 1 });
    expect(events[3]).toMatchObject({ allocations: 0 });
  });

  it('a reuse: connection-acquired (reused), connection-released', async () => {
    const { pool, types, events } = poolUnderTest();
    (await pool.acquire('http://a.test')).release();
    events.length = 0;
    (await pool.acquire('http://a.test/other/path?q=1')).release();
    expect(types()).toEqual(['connection-acquired', 'connection-released']);
    expect(events[0]).toMatchObject({ reused: true, connectionId: 'c1' });
  });

  it('a failed connect: connect-start, connect-failed, and nothing pooled', async () => {
    const { pool, connector, types, events } = poolUnderTest();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    connector.failNext(refused);
    await expect(pool.acquire('http://a.test')).rejects.toBe(refused);
    expect(types()).toEqual(['connect-start', 'connect-failed']);
    expect(events[1]).toMatchObject({ error: refused, connectionId: 'c1' });
    expect(pool.connectionCount()).toBe(0);
    expect(pool.stats()).toMatchObject({ connections: 0, addresses: 0, totals: { connectFailures: 1 } });
  });

  it('an eviction: connection-closed with its reason, after the release', async () => {
    const { pool, clock, types } = poolUnderTest({ keepAlive: '1s' });
    (await pool.acquire('http://a.test')).release();
    clock.advanceBy(1_000);
    expect(types()).toEqual(['connect-start', 'connect-end', 'connection-acquired', 'connection-released', 'connection-closed']);
  });

  it('every event carries its time from the scheduler, and connection events their id and redacted address', async () => {
    const { pool, clock, events } = poolUnderTest({}, 1_000);
    const lease = await pool.acquire('https://user:secret@a.test');
    clock.advanceBy(25);
    lease.release();
    expect(events.map((e) => e.at)).toEqual([1_000, 1_000, 1_000, 1_025]);
    expect(events.at(-1)).toMatchObject({ heldMs: 25 });
    for (const event of events) {
      expect(event).toMatchObject({ connectionId: 'c1', address: 'https://a.test:443' });
      expect(JSON.stringify(event)).not.toContain('secret');
    }
  });

  it('buffers nothing for absent subscribers: a late subscriber sees only what happens after it joined', async () => {
    const bare = new ConnectionPool({ connector: { connect: async () => ({ close() {} }) } });
    const lease = await bare.acquire('http://a.test');
    lease.release();
    let seen = 0;
    const subscription = bare.events$.subscribe(() => seen++);
    (await bare.acquire('http://a.test')).release();
    subscription.unsubscribe();
    expect(seen).toBe(2);
    await bare.close();
  });
});
