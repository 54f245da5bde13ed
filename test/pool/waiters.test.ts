import { describe, expect, it } from 'vitest';
import type { Lease } from '../../src/pool/index.js';
import { settle } from './support/fake-connector.js';
import { poolUnderTest } from './support/pool-under-test.js';

/** Records the order in which acquires settle. */
function track(promise: Promise<Lease>, name: string, log: string[]): Promise<Lease> {
  promise.then(
    () => log.push(name),
    (error: { code?: string }) => log.push(`${name}:${error.code ?? 'error'}`),
  );
  return promise;
}

describe('waiters under maxConnectionsPerAddress', () => {
  it('wait in FIFO order and get the released connection directly', async () => {
    const { pool, types, events } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    const first = await pool.acquire('http://a.test');
    const log: string[] = [];
    const second = track(pool.acquire('http://a.test'), 'second', log);
    const third = track(pool.acquire('http://a.test'), 'third', log);
    await settle();
    expect(log).toEqual([]);
    expect(pool.stats().waiters).toBe(2);

    events.length = 0;
    first.release();
    await settle();
    expect(log).toEqual(['second']);
    expect(types()).toEqual(['connection-released', 'connection-acquired']);
    expect(events[1]).toMatchObject({ reused: true, connectionId: 'c1' });

    (await second).release();
    await settle();
    expect(log).toEqual(['second', 'third']);
    expect((await third).connection.id).toBe('c1');
    expect(pool.connectionCount()).toBe(1);
  });

  it('time out after acquireTimeout with ERR_ACQUIRE_TIMEOUT naming the address and the limit', async () => {
    const { pool, clock, events } = poolUnderTest({ maxConnectionsPerAddress: 1, acquireTimeout: '2s' });
    const held = await pool.acquire('http://a.test');
    const waiting = pool.acquire('http://a.test');
    const outcome = waiting.catch((error: Error) => error);
    clock.advanceBy(1_999);
    await settle();
    expect(pool.stats().waiters).toBe(1);
    clock.advanceBy(1);
    const error = (await outcome) as Error & { code: string };
    expect(error.code).toBe('ERR_ACQUIRE_TIMEOUT');
    expect(error.message).toContain('http://a.test:80');
    expect(error.message).toContain('maxConnectionsPerAddress');
    expect(pool.stats()).toMatchObject({ waiters: 0, totals: { acquireTimeouts: 1 } });
    expect(events.at(-1)).toEqual({ type: 'acquire-timeout', at: 2_000, address: 'http://a.test:80', waitedMs: 2_000 });
    // Its timer is gone, and the held connection is untouched.
    held.release();
    expect(pool.stats().idle).toBe(1);
  });

  it('share one timer: each times out exactly acquireTimeout after it began, and a queue served early holds no timer', async () => {
    const { pool, clock } = poolUnderTest({ maxConnectionsPerAddress: 1, acquireTimeout: '1s' });
    const held = await pool.acquire('http://a.test');
    const pending = clock.pendingActions; // the cleanup stream's, if any
    const log: string[] = [];
    const waiters = [0, 100, 250, 600].map((at, i) => {
      clock.advanceTo(at);
      return track(pool.acquire('http://a.test'), `w${i}`, log).catch(() => undefined);
    });
    expect(clock.pendingActions).toBe(pending + 1);
    held.release(); // w0 is served: the timer set for it stays, and finds w1 not yet due
    await settle();
    expect(log).toEqual(['w0']);
    clock.advanceTo(1_099);
    await settle();
    expect(log).toEqual(['w0']);
    clock.advanceTo(1_100);
    await settle();
    expect(log).toEqual(['w0', 'w1:ERR_ACQUIRE_TIMEOUT']);
    clock.advanceTo(1_250);
    await settle();
    expect(log).toEqual(['w0', 'w1:ERR_ACQUIRE_TIMEOUT', 'w2:ERR_ACQUIRE_TIMEOUT']);
    (await waiters[0])?.release(); // w3 is served: nobody waits, no timer is left
    await settle();
    expect(log.at(-1)).toBe('w3');
    expect(clock.pendingActions).toBe(pending);
    await Promise.all(waiters);
  });

  it('leave the queue when their AbortSignal fires, and the next one is served', async () => {
    const { pool } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    const held = await pool.acquire('http://a.test');
    const controller = new AbortController();
    const aborted = pool.acquire('http://a.test', { signal: controller.signal });
    const next = pool.acquire('http://a.test');
    controller.abort(new Error('user gave up'));
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ACQUIRE_ABORTED', name: 'AbortError' });
    held.release();
    expect((await next).connection.id).toBe('c1');
  });

  it('reject at once when the signal is already aborted', async () => {
    const { pool, connector } = poolUnderTest();
    await expect(pool.acquire('http://a.test', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ACQUIRE_ABORTED' });
    expect(connector.connectCalls).toHaveLength(0);
  });

  it('a slot freed by a closing connection goes to the next waiter, who connects', async () => {
    const { pool, connector } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    const held = await pool.acquire('http://a.test');
    const waiting = pool.acquire('http://a.test');
    held.noNewExchanges();
    held.release();
    const lease = await waiting;
    expect(lease.connection.id).toBe('c2');
    expect(connector.transports[0]?.closeCalls).toBe(1);
  });

  it('a connect failure rejects only its own acquirer, and the next waiter tries its own connect', async () => {
    const { pool, connector } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    connector.manual = true;
    const first = pool.acquire('http://a.test');
    const second = pool.acquire('http://a.test');
    await settle();
    expect(connector.pending).toHaveLength(1);
    connector.pending[0]?.fail(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await settle();
    expect(connector.pending).toHaveLength(2);
    connector.pending[1]?.succeed();
    expect((await second).connection.id).toBe('c2');
    expect(pool.connectionCount()).toBe(1);
  });
});

describe('waiters under maxConnections', () => {
  it('wait across addresses in arrival order', async () => {
    const { pool } = poolUnderTest({ maxConnections: 2 });
    const a = await pool.acquire('http://a.test');
    const b = await pool.acquire('http://b.test');
    const log: string[] = [];
    const c = track(pool.acquire('http://a.test'), 'a-again', log);
    const d = track(pool.acquire('http://c.test'), 'c', log);
    await settle();
    expect(pool.stats().waiters).toBe(2);
    b.noNewExchanges();
    b.release(); // frees a slot: the first waiter in line is the one for a.test
    await settle();
    expect(log).toEqual(['a-again']);
    expect((await c).connection.id).toBe('c3');
    a.release(); // a.test has no waiter left; c.test has nothing to wait for: a.test's idle connection makes room
    await settle();
    expect(log).toEqual(['a-again', 'c']);
    expect((await d).connection.id).toBe('c4');
    expect(pool.connectionCount()).toBe(2);
  });

  it('closes an idle connection of another address to make room (reason capacity)', async () => {
    const { pool, connector, events } = poolUnderTest({ maxConnections: 2 });
    (await pool.acquire('http://a.test')).release();
    const held = await pool.acquire('http://b.test');
    const lease = await pool.acquire('http://c.test');
    expect(lease.connection.id).toBe('c3');
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(events.find((e) => e.type === 'connection-closed')).toMatchObject({ connectionId: 'c1', reason: 'capacity' });
    expect(pool.connectionCount()).toBe(2);
    held.release();
  });

  it('does not close another address\'s connection when its own is only busy: it waits for it', async () => {
    const { pool, connector } = poolUnderTest({ maxConnections: 2 });
    (await pool.acquire('http://a.test')).release();
    const held = await pool.acquire('http://b.test');
    const waiting = pool.acquire('http://b.test');
    await settle();
    expect(pool.stats().waiters).toBe(1);
    expect(connector.transports[0]?.closeCalls).toBe(0);
    held.release();
    expect((await waiting).connection.id).toBe(held.connection.id);
  });
});
