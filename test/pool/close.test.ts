import { describe, expect, it } from 'vitest';
import { settle } from './support/fake-connector.js';
import { poolUnderTest } from './support/pool-under-test.js';

describe('close()', () => {
  it('refuses new acquires, rejects waiters, closes idle connections at once and leased ones on release', async () => {
    const { pool, connector, types, clock } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    const held = await pool.acquire('http://a.test');
    (await pool.acquire('http://b.test')).release();
    const waiting = pool.acquire('http://a.test');
    let closed = false;
    const closing = pool.close().then(() => (closed = true));

    await expect(waiting).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(pool.acquire('http://a.test')).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(connector.transports.map((t) => t.closeCalls)).toEqual([0, 1]);
    expect(pool.stats().state).toBe('closing');
    await settle();
    expect(closed).toBe(false);

    held.release();
    await closing;
    expect(connector.transports.map((t) => t.closeCalls)).toEqual([1, 1]);
    expect(pool.stats()).toMatchObject({ state: 'closed', connections: 0, leases: 0, waiters: 0 });
    expect(types().slice(-2)).toEqual(['connection-closed', 'pool-closed']);
    expect(clock.pendingActions).toBe(0);
  });

  it('closes leased connections anyway when the drain timeout passes', async () => {
    const { pool, connector, clock, events } = poolUnderTest({ drainTimeout: '5s' });
    const held = await pool.acquire('http://a.test');
    const closing = pool.close();
    clock.advanceBy(4_999);
    expect(connector.transports[0]?.closeCalls).toBe(0);
    clock.advanceBy(1);
    await closing;
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'pool-closed', forced: 1 });
    held.release(); // a late release is harmless
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(clock.pendingActions).toBe(0);
  });

  it('takes a timeout of its own, validated like the options', async () => {
    const { pool, clock } = poolUnderTest({ drainTimeout: '1h' });
    await pool.acquire('http://a.test');
    await expect(pool.close({ timeout: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const closing = pool.close({ timeout: '1s' });
    clock.advanceBy(1_000);
    await expect(closing).resolves.toBeUndefined();
  });

  it('aborts connects in flight and rejects their acquirers', async () => {
    const { pool, connector, types } = poolUnderTest();
    connector.manual = true;
    const acquiring = pool.acquire('http://a.test');
    await settle();
    const [pending] = connector.pending;
    await pool.close();
    await expect(acquiring).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    expect(pending?.signal.aborted).toBe(true);
    // A connector that finishes anyway: its transport is closed, never pooled.
    const late = pending?.succeed();
    await settle();
    expect(late?.closeCalls).toBe(1);
    expect(types()).toEqual(['connect-start', 'pool-closing', 'connect-failed', 'pool-closed']);
  });

  it('returns the same promise when called twice, and completes events$', async () => {
    const { pool } = poolUnderTest();
    let completed = false;
    pool.events$.subscribe({ complete: () => (completed = true) });
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    expect(completed).toBe(true);
  });

  it('`await using` closes the pool at the end of the block', async () => {
    let outer: { stats(): { state: string } } | undefined;
    {
      await using scoped = poolUnderTest().pool;
      outer = scoped;
      (await scoped.acquire('http://a.test')).release();
    }
    expect(outer?.stats().state).toBe('closed');
  });
});

describe('connect timeout', () => {
  it('aborts the connector and rejects with ERR_CONNECT_TIMEOUT, leaving nothing in the pool', async () => {
    const { pool, connector, clock, types } = poolUnderTest({ connectTimeout: '3s' });
    connector.manual = true;
    const acquiring = pool.acquire('http://a.test');
    const outcome = acquiring.catch((error: Error) => error);
    await settle();
    clock.advanceBy(3_000);
    const error = (await outcome) as Error & { code: string };
    expect(error.code).toBe('ERR_CONNECT_TIMEOUT');
    expect(error.message).toContain('http://a.test:80');
    expect(connector.pending[0]?.signal.aborted).toBe(true);
    expect(types()).toEqual(['connect-start', 'connect-failed']);
    expect(pool.connectionCount()).toBe(0);
    expect(clock.pendingActions).toBe(0);
  });

  it('an acquirer that aborts mid-connect aborts the connect', async () => {
    const { pool, connector } = poolUnderTest();
    connector.manual = true;
    const controller = new AbortController();
    const acquiring = pool.acquire('http://a.test', { signal: controller.signal });
    await settle();
    controller.abort();
    await expect(acquiring).rejects.toMatchObject({ code: 'ERR_ACQUIRE_ABORTED' });
    expect(connector.pending[0]?.signal.aborted).toBe(true);
    expect(pool.connectionCount()).toBe(0);
  });

  it('a connector that resolves with something other than a transport fails clearly', async () => {
    const { pool } = poolUnderTest();
    const broken = new (pool.constructor as new (o: object) => typeof pool)({ connector: { connect: async () => 'socket' } });
    await expect(broken.acquire('http://a.test')).rejects.toMatchObject({ code: 'ERR_CONNECTOR_RESULT' });
    expect(broken.connectionCount()).toBe(0);
  });

  it('a connector that throws synchronously fails only that acquire', async () => {
    const { pool } = poolUnderTest();
    const throwing = new (pool.constructor as new (o: object) => typeof pool)({
      connector: {
        connect: () => {
          throw new Error('sync failure');
        },
      },
    });
    await expect(throwing.acquire('http://a.test')).rejects.toThrow('sync failure');
    expect(throwing.stats()).toMatchObject({ connections: 0, totals: { connectFailures: 1 } });
  });
});
