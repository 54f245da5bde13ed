import { describe, expect, it } from 'vitest';
import { ConnectionPool, type ConnectionPoolOptions, type Lease, type PoolEvent } from '../../src/pool/index.js';
import { FakeConnector, settle, type FakeTransport } from './support/fake-connector.js';
import { VirtualClock } from './support/virtual-time.js';

// Origins remembered as multiplexed (HTTP/2) after their last connection closed, in virtual
// time with a connector the test drives by hand. The same with real HTTP/2 servers:
// test/pool/remembered-h2-origins.test.ts.

const COALESCE = { coalesce: true } as const;

function setUp(options: Omit<ConnectionPoolOptions, 'connector' | 'scheduler'> = {}) {
  const clock = new VirtualClock();
  const connector = new FakeConnector();
  connector.manual = true;
  const pool = new ConnectionPool({ connector, scheduler: clock.scheduler, keepAlive: '1h', maxIdleConnections: 100, ...options });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  return { pool, clock, connector, events };
}

type Setup = ReturnType<typeof setUp>;

/** Completes pending connect `index` with a transport that takes `limit` leases at once. */
function succeed(connector: FakeConnector, index: number, limit: number): FakeTransport {
  const transport = (connector.pending[index] as NonNullable<(typeof connector.pending)[number]>).succeed();
  transport.allocationLimit = limit;
  return transport;
}

/** First contact with `url`: one connection with allocation limit `limit`, used once and closed (the origin is then remembered). */
async function learn({ pool, connector }: Setup, url: string, limit: number): Promise<void> {
  const first = pool.acquire(url, COALESCE);
  await settle();
  succeed(connector, connector.pending.length - 1, limit);
  (await first).release();
  expect(pool.evictAll()).toBe(1);
  expect(pool.connectionCount()).toBe(0);
  expect(pool.stats().addresses).toBe(0); // the address itself is forgotten; only the memory stays
}

/** A burst of `n` coalescing acquires; resolves with how many connects they started at once. */
async function burst({ pool, connector }: Setup, url: string, n: number): Promise<{ connects: number; leases: Array<Promise<Lease>> }> {
  const before = connector.pending.length;
  const leases = Array.from({ length: n }, () => pool.acquire(url, COALESCE));
  await settle();
  return { connects: connector.pending.length - before, leases };
}

describe('multiplexed origins remembered after their last connection closed', () => {
  it('a burst to a remembered origin waits for one connect, and all of it rides on that connection', async () => {
    const setup = setUp();
    await learn(setup, 'https://h2.test', 100);
    const { connects, leases } = await burst(setup, 'https://h2.test', 20);
    expect(connects).toBe(1);
    succeed(setup.connector, setup.connector.pending.length - 1, 100);
    const all = await Promise.all(leases);
    expect(new Set(all.map((lease) => lease.connection.id))).toEqual(new Set(['c2']));
    expect(setup.pool.connections()).toMatchObject([{ id: 'c2', allocations: 20 }]);
    for (const lease of all) lease.release();
  });

  it('with a stream limit of 2, six acquirers open three connections (each carries two)', async () => {
    const setup = setUp();
    await learn(setup, 'https://h2.test', 2);
    const { connects, leases } = await burst(setup, 'https://h2.test', 6);
    expect(connects).toBe(3);
    for (let i = 1; i <= 3; i++) succeed(setup.connector, i, 2);
    const all = await Promise.all(leases);
    expect(setup.pool.connections().map((info) => info.allocations)).toEqual([2, 2, 2]);
    for (const lease of all) lease.release();
  });

  it('first contact stays as before: each acquirer of a burst opens its own connect', async () => {
    const setup = setUp();
    const { connects, leases } = await burst(setup, 'https://new.test', 5);
    expect(connects).toBe(5);
    for (let i = 0; i < 5; i++) succeed(setup.connector, i, 100);
    const all = await Promise.all(leases);
    expect(new Set(all.map((lease) => lease.connection.id)).size).toBe(1); // they coalesce once connected
    expect(setup.events.filter((e) => e.type === 'connection-closed').map((e) => (e as { reason: string }).reason)).toEqual(Array(4).fill('coalesced'));
    for (const lease of all) lease.release();
  });

  it('forgets an origin forgetAfter after its last multiplexed connection closed', async () => {
    const setup = setUp({ multiplexedOrigins: { forgetAfter: '10m' } });
    await learn(setup, 'https://h2.test', 100);
    setup.clock.advanceBy(10 * 60_000 - 1);
    const early = await burst(setup, 'https://h2.test', 3);
    expect(early.connects).toBe(1);
    succeed(setup.connector, setup.connector.pending.length - 1, 100);
    for (const lease of await Promise.all(early.leases)) lease.release();
    expect(setup.pool.evictAll()).toBe(1); // seen multiplexed again now: remembered 10 more minutes
    setup.clock.advanceBy(10 * 60_000);
    const late = await burst(setup, 'https://h2.test', 3);
    expect(late.connects).toBe(3);
  });

  it('forgets an origin whose new connection is not multiplexed (it speaks HTTP/1.1 now): its waiters connect on their own', async () => {
    const setup = setUp();
    await learn(setup, 'https://h2.test', 100);
    const { connects, leases } = await burst(setup, 'https://h2.test', 3);
    expect(connects).toBe(1);
    succeed(setup.connector, 1, 1); // HTTP/1.1 this time
    await settle();
    expect(setup.connector.pending).toHaveLength(4); // the two who waited connect now
    succeed(setup.connector, 2, 1);
    succeed(setup.connector, 3, 1);
    const all = await Promise.all(leases);
    expect(new Set(all.map((lease) => lease.connection.id)).size).toBe(3);
    for (const lease of all) lease.release();
    setup.pool.evictAll();
    expect((await burst(setup, 'https://h2.test', 3)).connects).toBe(3);
  });

  it('remembers at most multiplexedOrigins.max origins, forgetting the one seen least recently', async () => {
    const setup = setUp({ multiplexedOrigins: { max: 2 } });
    await learn(setup, 'https://a.test', 100);
    await learn(setup, 'https://b.test', 100);
    await learn(setup, 'https://c.test', 100); // a is forgotten
    expect((await burst(setup, 'https://c.test', 3)).connects).toBe(1);
    expect((await burst(setup, 'https://b.test', 3)).connects).toBe(1);
    expect((await burst(setup, 'https://a.test', 3)).connects).toBe(3);
  });

  it('remembers none with max 0', async () => {
    const setup = setUp({ multiplexedOrigins: { max: 0 } });
    await learn(setup, 'https://h2.test', 100);
    expect((await burst(setup, 'https://h2.test', 3)).connects).toBe(3);
  });

  it('waits for a connect in flight at most maxWait: then the waiters may open their own, and nothing is lost', async () => {
    const setup = setUp({ multiplexedOrigins: { maxWait: '500ms' } });
    await learn(setup, 'https://h2.test', 100);
    const { connects, leases } = await burst(setup, 'https://h2.test', 4);
    expect(connects).toBe(1);
    setup.clock.advanceBy(499);
    await settle();
    expect(setup.connector.pending).toHaveLength(2);
    setup.clock.advanceBy(1);
    await settle();
    expect(setup.connector.pending).toHaveLength(5); // the three who waited connect now
    // The slow connect comes first; the three others then join it and their own connections go.
    succeed(setup.connector, 1, 100);
    for (let i = 2; i < 5; i++) succeed(setup.connector, i, 100);
    const all = await Promise.all(leases);
    expect(new Set(all.map((lease) => lease.connection.id))).toEqual(new Set(['c2']));
    await settle();
    expect(setup.pool.connectionCount()).toBe(1);
    expect(setup.events.filter((e) => e.type === 'connection-closed').map((e) => (e as { reason: string }).reason)).toEqual([
      'evict-all',
      'coalesced',
      'coalesced',
      'coalesced',
    ]);
    for (const lease of all) lease.release();
  });

  it('with maxWait Infinity, waiters wait for the connect in flight until acquireTimeout', async () => {
    const setup = setUp({ multiplexedOrigins: { maxWait: Infinity }, acquireTimeout: '5s' });
    await learn(setup, 'https://h2.test', 100);
    const { connects, leases } = await burst(setup, 'https://h2.test', 2);
    expect(connects).toBe(1);
    const second = leases[1] as Promise<Lease>;
    const outcome = second.then(
      () => 'leased',
      (error: { code?: string }) => error.code,
    );
    setup.clock.advanceBy(4_999);
    await settle();
    expect(setup.connector.pending).toHaveLength(2);
    setup.clock.advanceBy(1);
    expect(await outcome).toBe('ERR_ACQUIRE_TIMEOUT');
    succeed(setup.connector, 1, 100);
    (await leases[0])?.release();
  });

  it('rejects bad multiplexedOrigins options, naming the field and the value', () => {
    const connector = new FakeConnector();
    for (const [value, option] of [
      [{ max: -1 }, 'multiplexedOrigins.max'],
      [{ max: 1.5 }, 'multiplexedOrigins.max'],
      [{ forgetAfter: 0 }, 'multiplexedOrigins.forgetAfter'],
      [{ maxWait: 'soon' }, 'multiplexedOrigins.maxWait'],
      [{ maxwait: '1s' }, 'multiplexedOrigins.maxwait'],
      ['yes', 'multiplexedOrigins'],
    ] as const) {
      expect(() => new ConnectionPool({ connector, multiplexedOrigins: value as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', option }),
      );
    }
    expect(new ConnectionPool({ connector }).options.multiplexedOrigins).toEqual({ max: 256, forgetAfterMs: 600_000, maxWaitMs: 1_000 });
  });
});
