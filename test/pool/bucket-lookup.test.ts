import { describe, expect, it } from 'vitest';
import { poolUnderTest } from './support/pool-under-test.js';

// The registry remembers the last URL string it resolved and its address's bucket, to skip two
// Map lookups per acquire. These pin down that the shortcut never hands out the wrong address.

describe('finding the address of an acquire', () => {
  it('after the address was forgotten (its last connection closed), the same URL string gets a fresh bucket, not the old one', async () => {
    const { pool, connector } = poolUnderTest();
    (await pool.acquire('http://a.test')).release();
    expect(pool.evictAll()).toBe(1);
    expect(pool.stats().addresses).toBe(0);
    const lease = await pool.acquire('http://a.test');
    expect(lease.connection.id).toBe('c2');
    expect(pool.stats().addresses).toBe(1);
    lease.release();
    expect((await pool.acquire('http://a.test')).connection.id).toBe('c2'); // and that one is reused
    expect(connector.connectCalls).toHaveLength(2);
  });

  it('a URL object changed in place between two acquires goes to its new address', async () => {
    const { pool, connector } = poolUnderTest();
    const url = new URL('http://a.test/x');
    (await pool.acquire(url)).release();
    url.hostname = 'b.test';
    const lease = await pool.acquire(url);
    expect(connector.connectCalls.map((address) => address.host)).toEqual(['a.test', 'b.test']);
    expect(lease.connection.id).toBe('c2');
  });

  it('alternating URL strings each find their own connection', async () => {
    const { pool, connector } = poolUnderTest();
    for (let round = 0; round < 3; round++) {
      for (const url of ['http://a.test', 'http://b.test']) (await pool.acquire(url)).release();
    }
    expect(connector.connectCalls.map((address) => address.host)).toEqual(['a.test', 'b.test']);
    expect(pool.connections().map((info) => [info.id, info.address])).toEqual([
      ['c1', 'http://a.test:80'],
      ['c2', 'http://b.test:80'],
    ]);
  });
});
