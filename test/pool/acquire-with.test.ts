import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/pool/index.js';
import { settle } from './support/fake-connector.js';
import { poolUnderTest } from './support/pool-under-test.js';

/** Callbacks for acquireWith, recording what they were given. */
function callbacks() {
  const leases: Lease[] = [];
  const errors: Array<Error & { code?: string }> = [];
  return { leases, errors, onLease: (lease: Lease) => void leases.push(lease), onError: (error: Error) => void errors.push(error) };
}

describe('acquireWith: acquire with callbacks instead of a promise', () => {
  it('hands over a pooled connection synchronously', async () => {
    const { pool } = poolUnderTest();
    (await pool.acquire('http://a.test')).release();
    const { leases, errors, onLease, onError } = callbacks();
    pool.acquireWith('http://a.test', undefined, onLease, onError);
    expect(leases).toHaveLength(1);
    expect(leases[0]?.reused).toBe(true);
    expect(errors).toEqual([]);
    leases[0]?.release();
  });

  it('connects when nothing fits, and calls onLease once connected', async () => {
    const { pool, connector } = poolUnderTest();
    const { leases, onLease, onError } = callbacks();
    pool.acquireWith('http://a.test', undefined, onLease, onError);
    expect(leases).toEqual([]);
    expect(connector.connectCalls).toHaveLength(1);
    await settle();
    expect(leases).toHaveLength(1);
    expect(leases[0]?.reused).toBe(false);
    leases[0]?.release();
  });

  it('gives a waiter the released connection within release(), without a turn of the event loop', async () => {
    const { pool } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    const held = await pool.acquire('http://a.test');
    const { leases, onLease, onError } = callbacks();
    pool.acquireWith('http://a.test', undefined, onLease, onError);
    expect(pool.stats().waiters).toBe(1);
    held.release();
    expect(leases).toHaveLength(1);
    expect(leases[0]?.connection.id).toBe(held.connection.id);
    leases[0]?.release();
  });

  it('reports refusals through onError, synchronously: closed pool, bad address, bad options, aborted signal', async () => {
    const { pool } = poolUnderTest();
    const { leases, errors, onLease, onError } = callbacks();
    pool.acquireWith('ftp://a.test', undefined, onLease, onError);
    pool.acquireWith('http://a.test', { reuse: 'yes' as never }, onLease, onError);
    pool.acquireWith('http://a.test', { coalesce: 1 as never }, onLease, onError);
    pool.acquireWith('http://a.test', { signal: {} as never }, onLease, onError);
    pool.acquireWith('http://a.test', { signal: AbortSignal.abort() }, onLease, onError);
    await pool.close();
    pool.acquireWith('http://a.test', undefined, onLease, onError);
    expect(errors.map((error) => error.code)).toEqual([
      'ERR_INVALID_ADDRESS',
      'ERR_INVALID_OPTION',
      'ERR_INVALID_OPTION',
      'ERR_INVALID_OPTION',
      'ERR_ACQUIRE_ABORTED',
      'ERR_POOL_CLOSED',
    ]);
    expect(leases).toEqual([]);
  });

  it('times a waiter out through onError, exactly once', async () => {
    const { pool, clock } = poolUnderTest({ maxConnectionsPerAddress: 1, acquireTimeout: '1s' });
    const held = await pool.acquire('http://a.test');
    const { leases, errors, onLease, onError } = callbacks();
    pool.acquireWith('http://a.test', undefined, onLease, onError);
    clock.advanceBy(1_000);
    expect(errors.map((error) => error.code)).toEqual(['ERR_ACQUIRE_TIMEOUT']);
    held.release();
    clock.advanceBy(10_000);
    expect(errors).toHaveLength(1);
    expect(leases).toEqual([]);
  });
});

describe('acquireNow: the synchronous reuse', () => {
  it('takes the connection idle least (LIFO), or with oldestFirst the one idle longest (FIFO)', async () => {
    const { pool } = poolUnderTest();
    const [a, b, c] = await Promise.all([pool.acquire('http://a.test'), pool.acquire('http://a.test'), pool.acquire('http://a.test')]);
    const order = [a, b, c].map((lease) => (lease as Lease).connection.id);
    for (const lease of [a, b, c]) lease?.release();
    const newest = pool.acquireNow('http://a.test');
    const oldest = pool.acquireNow('http://a.test', true);
    expect([newest?.connection.id, oldest?.connection.id]).toEqual([order[2], order[0]]);
    newest?.release();
    oldest?.release();
  });
});
