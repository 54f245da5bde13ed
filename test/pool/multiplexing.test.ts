import { describe, expect, it } from 'vitest';
import {
  AddressResolver,
  ConnectionPool,
  type Address,
  type ConnectContext,
  type ConnectionPoolOptions,
  type PoolEvent,
  type Transport,
} from '../../src/pool/index.js';
import { FakeConnector, settle, type FakeTransport } from './support/fake-connector.js';
import { poolUnderTest } from './support/pool-under-test.js';
import { VirtualClock } from './support/virtual-time.js';

/** A fake connector that keeps what the pool passed with each connect. */
class HookedConnector extends FakeConnector {
  readonly contexts: ConnectContext[] = [];

  override connect(address: Address, context: ConnectContext): Promise<Transport> {
    this.contexts.push(context);
    return super.connect(address, context);
  }
}

const closeReasons = (events: PoolEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'connection-closed' ? [`${event.connectionId}:${event.reason}`] : []));

/** Makes the next pending connect succeed with a transport of the given allocation limit. */
function succeed(connector: FakeConnector, index: number, allocationLimit?: number): FakeTransport {
  const pending = connector.pending[index];
  if (pending === undefined) throw new Error(`no pending connect #${index}`);
  const transport = pending.succeed();
  transport.allocationLimit = allocationLimit;
  return transport;
}

/** A pool whose connector records its connect contexts and connects by hand, on a virtual clock. */
function multiplexingPool(options: Omit<ConnectionPoolOptions, 'connector' | 'scheduler'> = {}) {
  const clock = new VirtualClock();
  const connector = new HookedConnector();
  connector.manual = true;
  const pool = new ConnectionPool({ ...options, connector, scheduler: clock.scheduler });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  return { pool, connector, clock, events };
}

describe('connection hooks (what a transport tells the pool)', () => {
  it('the connector learns the connection id, the pool scheduler and the hooks', async () => {
    const { pool, connector, clock } = multiplexingPool();
    const first = pool.acquire('http://a.test');
    await settle();
    succeed(connector, 0);
    (await first).release();
    expect(connector.contexts).toHaveLength(1);
    const [context] = connector.contexts;
    expect(context?.connectionId).toBe('c1');
    expect(context?.scheduler).toBe(clock.scheduler);
    expect(typeof context?.hooks?.capacityChanged).toBe('function');
    expect(typeof context?.hooks?.noNewExchanges).toBe('function');
  });
});

describe('hooks: capacityChanged and noNewExchanges from the transport side', () => {
  it('capacityChanged lets waiters share a connection whose limit went up', async () => {
    const { pool, connector } = multiplexingPool({ maxConnectionsPerAddress: 1 });
    const first = pool.acquire('http://a.test');
    await settle();
    const transport = succeed(connector, 0, 1);
    const lease = await first;
    const waiting = pool.acquire('http://a.test');
    await settle();
    expect(pool.stats().waiters).toBe(1);
    transport.allocationLimit = 2;
    connector.contexts[0]?.hooks?.capacityChanged();
    const second = await waiting;
    expect(second.connection.id).toBe('c1');
    expect(pool.connections()).toMatchObject([{ id: 'c1', allocations: 2, allocationLimit: 2 }]);
    lease.release();
    second.release();
  });

  it('noNewExchanges lets leases in flight finish, gives the connection to nobody new, then closes it', async () => {
    const { pool, connector, events } = multiplexingPool();
    const first = pool.acquire('http://a.test');
    await settle();
    succeed(connector, 0, 10);
    const l1 = await first;
    const l2 = await pool.acquire('http://a.test');
    expect(l2.connection.id).toBe('c1');
    connector.contexts[0]?.hooks?.noNewExchanges(); // as on an HTTP/2 GOAWAY
    expect(pool.connections()).toMatchObject([{ id: 'c1', noNewExchanges: true, allocations: 2 }]);
    const third = pool.acquire('http://a.test');
    await settle();
    succeed(connector, 1, 10);
    expect((await third).connection.id).toBe('c2');
    l1.release();
    expect(pool.connections().map((c) => c.id)).toContain('c1');
    l2.release();
    expect(pool.connections().map((c) => c.id)).toEqual(['c2']);
    expect(closeReasons(events)).toEqual(['c1:no-new-exchanges']);
    expect(events.filter((e) => e.type === 'no-new-exchanges').map((e) => 'connectionId' in e && e.connectionId)).toEqual(['c1']);
  });

  it("noNewExchanges('unhealthy') closes an idle connection at once, with that reason", async () => {
    const { pool, connector, events } = multiplexingPool();
    const first = pool.acquire('http://a.test');
    await settle();
    succeed(connector, 0, 10);
    (await first).release();
    connector.contexts[0]?.hooks?.noNewExchanges('unhealthy'); // as on a PING left unanswered
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['c1:unhealthy']);
  });

  it('a hook called while connecting takes effect once connected: only its own acquirer gets it', async () => {
    const { pool, connector, events } = multiplexingPool();
    const first = pool.acquire('http://a.test');
    await settle();
    connector.contexts[0]?.hooks?.noNewExchanges();
    succeed(connector, 0, 10);
    const lease = await first;
    expect(lease.connection.id).toBe('c1');
    const second = pool.acquire('http://a.test');
    await settle();
    expect(connector.pending).toHaveLength(2); // c1 is not shared
    lease.release();
    expect(closeReasons(events)).toEqual(['c1:no-new-exchanges']);
    succeed(connector, 1, 10);
    (await second).release();
  });

  it('hooks called after the connection left the pool are ignored', async () => {
    const { pool, connector, events } = multiplexingPool();
    const first = pool.acquire('http://a.test');
    await settle();
    succeed(connector, 0, 10);
    (await first).release();
    expect(pool.evict('c1')).toBe(true);
    const before = events.length;
    connector.contexts[0]?.hooks?.noNewExchanges();
    connector.contexts[0]?.hooks?.capacityChanged();
    expect(events.length).toBe(before);
  });
});

describe('coalescing concurrent connects to a multiplexed address (acquire { coalesce: true })', () => {
  it('the acquirer of a second multiplexed connection joins the first, and its own connection closes', async () => {
    const { pool, connector, events } = multiplexingPool();
    const a = pool.acquire('http://a.test', { coalesce: true });
    const b = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    expect(connector.pending).toHaveLength(2); // each connects, as OkHttp: the protocol is not known yet
    succeed(connector, 0, 10);
    const la = await a;
    succeed(connector, 1, 10);
    const lb = await b;
    expect([la.connection.id, lb.connection.id]).toEqual(['c1', 'c1']);
    expect(lb.reused).toBe(true);
    expect(pool.connections()).toMatchObject([{ id: 'c1', allocations: 2, allocationLimit: 10 }]);
    expect(connector.transports[1]?.closeCalls).toBe(1);
    const c2 = events.filter((e) => 'connectionId' in e && e.connectionId === 'c2').map((e) => e.type);
    expect(c2).toEqual(['connect-start', 'connect-end', 'connection-closed']);
    expect(closeReasons(events)).toEqual(['c2:coalesced']);
    const acquired = events.filter((e) => e.type === 'connection-acquired');
    expect(acquired.map((e) => 'connectionId' in e && [e.connectionId, e.reused, e.allocations, e.allocationLimit])).toEqual([
      ['c1', false, 1, 10],
      ['c1', true, 2, 10],
    ]);
    la.release();
    lb.release();
  });

  it('keeps the new connection when the others are full, and serves it to its own acquirer', async () => {
    const { pool, connector } = multiplexingPool();
    const a = pool.acquire('http://a.test', { coalesce: true });
    const b = pool.acquire('http://a.test', { coalesce: true });
    const c = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    succeed(connector, 0, 2);
    succeed(connector, 1, 2);
    succeed(connector, 2, 2);
    const leases = await Promise.all([a, b, c]);
    expect(leases.map((lease) => lease.connection.id)).toEqual(['c1', 'c1', 'c3']);
    expect(pool.connections().map((info) => [info.id, info.allocations])).toEqual([
      ['c1', 2],
      ['c3', 1],
    ]);
    for (const lease of leases) lease.release();
  });

  it('joins an idle multiplexed connection too', async () => {
    const { pool, connector } = multiplexingPool();
    const a = pool.acquire('http://a.test', { coalesce: true });
    const b = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    succeed(connector, 0, 10);
    (await a).release(); // c1 idle while b's connect is in flight
    succeed(connector, 1, 10);
    const lb = await b;
    expect(lb.connection.id).toBe('c1');
    expect(pool.connections()).toMatchObject([{ id: 'c1', state: 'inUse', allocations: 1 }]);
    lb.release();
  });

  it('never coalesces HTTP/1.1 connections, nor acquirers that did not ask', async () => {
    const { pool, connector } = multiplexingPool();
    const plain = [pool.acquire('http://a.test', { coalesce: true }), pool.acquire('http://a.test', { coalesce: true })];
    const unasked = [pool.acquire('http://b.test'), pool.acquire('http://b.test')];
    await settle();
    succeed(connector, 0, 1);
    succeed(connector, 1, 1);
    succeed(connector, 2, 10);
    succeed(connector, 3, 10);
    const leases = await Promise.all([...plain, ...unasked]);
    expect(leases.map((lease) => lease.connection.id)).toEqual(['c1', 'c2', 'c3', 'c4']);
    for (const lease of leases) lease.release();
  });

  it('does not join a connection marked noNewExchanges, nor an unhealthy one', async () => {
    const { pool, connector } = multiplexingPool();
    const a = pool.acquire('http://a.test', { coalesce: true });
    const b = pool.acquire('http://a.test', { coalesce: true });
    const c = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    const t1 = succeed(connector, 0, 10);
    const la = await a;
    t1.healthy = false;
    succeed(connector, 1, 10);
    const lb = await b;
    expect(lb.connection.id).toBe('c2');
    lb.noNewExchanges();
    succeed(connector, 2, 10);
    expect((await c).connection.id).toBe('c3');
    la.release();
    lb.release();
  });

  it('rejects an option that is not a boolean', async () => {
    const { pool } = multiplexingPool();
    await expect(pool.acquire('http://a.test', { coalesce: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    await expect(pool.acquire('http://a.test', { reuse: 0 as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});

describe('coalescing acquirers wait for a multiplexed connection being made (parking)', () => {
  /** c1 connected with `limit` and leased `limit` times: the address is known multiplexed, and full. */
  async function fullMultiplexed(limit: number, options: Omit<ConnectionPoolOptions, 'connector' | 'scheduler'> = {}) {
    const made = multiplexingPool(options);
    const first = made.pool.acquire('http://a.test', { coalesce: true });
    await settle();
    succeed(made.connector, 0, limit);
    const leases = [await first];
    for (let i = 1; i < limit; i++) leases.push(await made.pool.acquire('http://a.test', { coalesce: true }));
    return { ...made, leases };
  }

  it('waits for the connect in flight up to what its limit carries, and opens another beyond', async () => {
    const { pool, connector, leases } = await fullMultiplexed(3);
    const waiting = [1, 2, 3, 4].map(() => pool.acquire('http://a.test', { coalesce: true }));
    await settle();
    // The first connects; two wait for its connection; the fourth connects its own.
    expect(connector.pending).toHaveLength(3);
    expect(pool.stats().waiters).toBe(2);
    succeed(connector, 1, 3);
    succeed(connector, 2, 3);
    const got = await Promise.all(waiting);
    expect(got.map((lease) => lease.connection.id)).toEqual(['c2', 'c2', 'c2', 'c3']);
    expect(got.map((lease) => lease.reused)).toEqual([false, true, true, false]);
    expect(pool.stats().waiters).toBe(0);
    for (const lease of [...leases, ...got]) lease.release();
  });

  it('a parked acquirer connects its own when the connect it waited for fails', async () => {
    const { pool, connector, leases } = await fullMultiplexed(2);
    const b = pool.acquire('http://a.test', { coalesce: true });
    const c = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    expect(connector.pending).toHaveLength(2);
    connector.pending[1]?.fail(new Error('refused (fake)'));
    await expect(b).rejects.toThrow('refused (fake)');
    await settle();
    expect(connector.pending).toHaveLength(3); // c connects its own
    succeed(connector, 2, 2);
    expect((await c).connection.id).toBe('c3');
    for (const lease of leases) lease.release();
  });

  it('parked acquirers connect their own when the new connection turns out not multiplexed', async () => {
    const { pool, connector, leases } = await fullMultiplexed(2);
    const b = pool.acquire('http://a.test', { coalesce: true });
    const c = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    succeed(connector, 1, 1); // HTTP/1.1 this time
    expect((await b).connection.id).toBe('c2');
    await settle();
    expect(connector.pending).toHaveLength(3);
    succeed(connector, 2, 1);
    expect((await c).connection.id).toBe('c3');
    for (const lease of leases) lease.release();
  });

  it('a parked acquirer gets a slot freed on another multiplexed connection first', async () => {
    const { pool, connector, leases } = await fullMultiplexed(2);
    const b = pool.acquire('http://a.test', { coalesce: true });
    const c = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    leases[0]?.release(); // c1 has room again: c, parked, takes it
    expect((await c).connection.id).toBe('c1');
    succeed(connector, 1, 2);
    expect((await b).connection.id).toBe('c2');
    leases[1]?.release();
  });

  it('parked acquirers time out, abort and are rejected on close like any waiter', async () => {
    const { pool, connector, clock, leases } = await fullMultiplexed(4, { acquireTimeout: 1_000, connectTimeout: 5_000 });
    const b = pool.acquire('http://a.test', { coalesce: true });
    const controller = new AbortController();
    const aborted = pool.acquire('http://a.test', { coalesce: true, signal: controller.signal });
    const timedOut = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    expect(connector.pending).toHaveLength(2);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ACQUIRE_ABORTED' });
    clock.advanceBy(1_000);
    await expect(timedOut).rejects.toMatchObject({
      code: 'ERR_ACQUIRE_TIMEOUT',
      message: expect.stringContaining('the multiplexed connection being made for it did not come'),
    });
    const last = pool.acquire('http://a.test', { coalesce: true });
    await settle();
    expect(pool.stats().waiters).toBe(1);
    const closing = pool.close({ timeout: 10 });
    await expect(last).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED', message: expect.stringContaining('while this acquire was waiting') });
    await expect(b).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    for (const lease of leases) lease.release();
    await closing;
  });
});

describe('acquire { reuse: false }: a new connection', () => {
  it('connects rather than take the idle connection', async () => {
    const { pool, connector } = poolUnderTest();
    (await pool.acquire('http://a.test')).release();
    const fresh = await pool.acquire('http://a.test', { reuse: false });
    expect(fresh.connection.id).toBe('c2');
    expect(fresh.reused).toBe(false);
    expect(connector.transports).toHaveLength(2);
    expect(pool.connections().map((info) => [info.id, info.state])).toEqual([
      ['c1', 'idle'],
      ['c2', 'inUse'],
    ]);
    fresh.release();
  });

  it('under maxConnectionsPerAddress, closes the idle connection of its address to make room', async () => {
    const { pool, events } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    (await pool.acquire('http://a.test')).release();
    const fresh = await pool.acquire('http://a.test', { reuse: false });
    expect(fresh.connection.id).toBe('c2');
    expect(closeReasons(events)).toEqual(['c1:capacity']);
    fresh.release();
  });

  it('when every connection is in use, waits and takes the one released next', async () => {
    const { pool } = poolUnderTest({ maxConnectionsPerAddress: 1 });
    const held = await pool.acquire('http://a.test');
    const waiting = pool.acquire('http://a.test', { reuse: false });
    await settle();
    expect(pool.stats().waiters).toBe(1);
    held.release();
    const lease = await waiting;
    expect(lease.connection.id).toBe('c1');
    lease.release();
  });

  it('a waiter that wants a new connection connects when room frees up elsewhere', async () => {
    const { pool, events } = poolUnderTest({ maxConnections: 1 });
    const other = await pool.acquire('http://b.test');
    const waiting = pool.acquire('http://a.test', { reuse: false });
    await settle();
    expect(pool.stats().waiters).toBe(1);
    other.release(); // b's connection goes idle: a's waiter closes it (capacity) and connects
    const lease = await waiting;
    expect(lease.connection.id).toBe('c2');
    expect(lease.reused).toBe(false);
    expect(closeReasons(events)).toEqual(['c1:capacity']);
    lease.release();
  });
});

describe('pool.reportRetry', () => {
  it('emits a retry event naming the connection, the address and the method', async () => {
    const { pool, events } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    lease.release();
    pool.reportRetry(lease, { method: 'GET', reason: 'connection-reset' });
    expect(events.at(-1)).toEqual({ type: 'retry', at: 0, connectionId: 'c1', address: 'http://a.test:80', method: 'GET', reason: 'connection-reset' });
  });

  it('reports a method that is not an HTTP token as OTHER (an event carries no free text)', async () => {
    const { pool, events } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    pool.reportRetry(lease, { method: 'GET /secret?token=1', reason: 'stream-refused' });
    expect(events.at(-1)).toMatchObject({ type: 'retry', method: 'OTHER', reason: 'stream-refused' });
    lease.release();
  });

  it('refuses a lease of another pool', async () => {
    const { pool } = poolUnderTest();
    const other = poolUnderTest().pool;
    const lease = await other.acquire('http://a.test');
    expect(() => pool.reportRetry(lease, { method: 'GET', reason: 'goaway' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    lease.release();
  });
});

describe('address partitions', () => {
  it('keep connections apart: equal addresses of different partitions share nothing', async () => {
    const { pool, connector } = poolUnderTest();
    (await pool.acquire({ host: 'a.test', port: 80, protocol: 'http:', partition: 'one' })).release();
    (await pool.acquire({ host: 'a.test', port: 80, protocol: 'http:', partition: 'two' })).release();
    (await pool.acquire('http://a.test')).release();
    (await pool.acquire({ host: 'a.test', port: 80, protocol: 'http:', partition: 'one' })).release();
    expect(connector.transports).toHaveLength(3);
  });

  it('enter the key, show only as a fingerprint, and must be non-empty strings', () => {
    const resolver = new AddressResolver();
    const address = resolver.resolve({ host: 'a.test', port: 80, protocol: 'http:', partition: 'dispatcher' });
    expect(address.key).toBe('http://a.test:80|partition="dispatcher"');
    expect(address.partition).toBe('dispatcher');
    expect(String(address)).toMatch(/^http:\/\/a\.test:80#[\w-]{8}$/);
    expect(() => resolver.resolve({ host: 'a.test', port: 80, partition: '' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }));
    expect(() => resolver.resolve({ host: 'a.test', port: 80, partition: 7 as unknown as string })).toThrow(/partition 7 must be a non-empty string/);
  });
});

