import { metrics as otelMetrics, type Meter, type MeterProvider } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionPool, type ConnectionPoolOptions, type Lease } from '../../src/pool/index.js';
import { INSTRUMENT_NAMES, instrumentConnectionPool, type InstrumentConnectionPoolOptions } from '../../src/opentelemetry/index.js';
import { FakeConnector, settle } from '../pool/support/fake-connector.js';
import { VirtualClock } from '../pool/support/virtual-time.js';
import { InMemoryMetrics, type Collected } from './support/in-memory-metrics.js';

const POOL = 'reactive_connection_pool.pool.name';
const STATE = 'reactive_connection_pool.connection.state';
const REASON = 'reactive_connection_pool.close.reason';
const N = INSTRUMENT_NAMES;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** A pool on a fake connector and a virtual clock, instrumented from the start. */
function setUp(options: Omit<ConnectionPoolOptions, 'connector' | 'scheduler'> = {}, instrumentation: Omit<InstrumentConnectionPoolOptions, 'meterProvider'> = {}) {
  const clock = new VirtualClock();
  const connector = new FakeConnector();
  const pool = new ConnectionPool({ ...options, connector, scheduler: clock.scheduler });
  const metrics = new InMemoryMetrics();
  const handle = instrumentConnectionPool(pool, { ...instrumentation, meterProvider: metrics.meterProvider });
  cleanups.push(async () => {
    handle.dispose();
    await metrics.shutdown();
  });
  return { clock, connector, pool, metrics, handle };
}

function expectAgreement(collected: Collected, pool: ConnectionPool): void {
  const stats = pool.stats();
  expect(collected.total(N.openConnections, { 'http.connection.state': 'idle' })).toBe(stats.idle);
  expect(collected.total(N.openConnections, { 'http.connection.state': 'active' })).toBe(stats.inUse);
  expect(collected.total(N.connectionCount, { [STATE]: 'connecting' })).toBe(stats.connecting);
  expect(collected.total(N.connectionCount, { [STATE]: 'idle' })).toBe(stats.idle);
  expect(collected.total(N.connectionCount, { [STATE]: 'in_use' })).toBe(stats.inUse);
  expect(collected.total(N.leaseCount)).toBe(stats.leases);
  expect(collected.total(N.waiterCount)).toBe(stats.waiters);
  expect(collected.total(N.connectAttempts)).toBe(stats.totals.connects);
  expect(collected.total(N.connectFailures)).toBe(stats.totals.connectFailures);
  expect(collected.total(N.evictions)).toBe(stats.totals.closed);
  expect(collected.total(N.leaks)).toBe(stats.totals.leaked);
  expect(collected.total(N.acquireTimeouts)).toBe(stats.totals.acquireTimeouts);
  // One duration per connection that was established and has closed.
  const byId = new Set(pool.connections().map((c) => c.id));
  expect(byId.size).toBe(stats.connections);
}

describe('instrumentConnectionPool in virtual time', () => {
  it('records each closed connection once, its duration from connect to close', async () => {
    const { clock, pool, metrics } = setUp({ keepAlive: '10s' });
    const first = await pool.acquire('http://a.test');
    const second = await pool.acquire('http://a.test');
    first.release();
    clock.advanceBy(2_000);
    second.release();
    clock.advanceBy(3_000);
    expect(pool.evict(first.connection.id)).toBe(true);
    // The other one expires on its own: idle 10 s from t=2 s.
    clock.advanceTo(12_000);
    expect(pool.stats().connections).toBe(0);

    const collected = await metrics.collect();
    const [durations] = collected.histogramPoints(N.connectionDuration);
    expect(durations?.attributes).toEqual({ [POOL]: 'default', 'server.address': 'a.test', 'server.port': 80, 'url.scheme': 'http', 'network.protocol.version': '1.1' });
    expect(durations?.value.count).toBe(2);
    expect(durations?.value.sum).toBe(5 + 12);
    expect(collected.total(N.evictions, { [REASON]: 'evicted' })).toBe(1);
    expect(collected.total(N.evictions, { [REASON]: 'keep-alive-expired' })).toBe(1);
    expect(collected.total(N.openConnections)).toBe(0);
    expectAgreement(collected, pool);
  });

  it('counts waiters, the time they spent in the queue, and acquire timeouts', async () => {
    const { clock, pool, metrics } = setUp({ maxConnections: 1, acquireTimeout: '1s' });
    const held = await pool.acquire('http://a.test');
    // First in line: served when the lease is released. Second: still waiting at acquireTimeout.
    const servedLater = pool.acquire('http://a.test');
    const timesOut = pool.acquire('http://a.test');
    timesOut.catch(() => undefined);
    await settle();
    let collected = await metrics.collect();
    expect(collected.total(N.waiterCount)).toBe(2);
    expectAgreement(collected, pool);

    clock.advanceBy(300);
    held.release();
    const lease = await servedLater;
    clock.advanceBy(700);
    await expect(timesOut).rejects.toMatchObject({ code: 'ERR_ACQUIRE_TIMEOUT' });
    collected = await metrics.collect();
    expect(collected.total(N.waiterCount)).toBe(0);
    expect(collected.total(N.acquireTimeouts)).toBe(1);
    // The first acquirer waited for its connect (0 ms here), the third 300 ms for the release.
    const [queued] = collected.histogramPoints(N.timeInQueue);
    expect(queued?.value.count).toBe(2);
    expect(queued?.value.sum).toBeCloseTo(0.3, 9);
    expectAgreement(collected, pool);
    lease.release();
  });

  it('counts leaks, connect failures by error type and retries by reason', async () => {
    const { connector, pool, metrics } = setUp();
    connector.failNext(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    connector.failNext(new TypeError('no code'));
    connector.failNext(Object.assign(new Error('odd'), { code: 'not a token, and long: '.repeat(10) }));
    for (let i = 0; i < 3; i++) await expect(pool.acquire('http://a.test')).rejects.toThrow();
    const lease = await pool.acquire('http://a.test');
    pool.reportRetry(lease, { method: 'GET', reason: 'connection-reset' });
    lease.release();
    await leakOne(pool);
    await collectGarbageUntil(() => pool.stats().totals.leaked === 1);

    const collected = await metrics.collect();
    const failures = Object.fromEntries(collected.sumPoints(N.connectFailures).map((p) => [p.attributes['error.type'], p.value]));
    // No usable code: the error's name.
    expect(failures).toEqual({ ECONNREFUSED: 1, TypeError: 1, Error: 1 });
    expect(collected.total(N.retries, { 'reactive_connection_pool.retry.reason': 'connection-reset' })).toBe(1);
    expect(collected.total(N.leaks)).toBe(1);
    expect(collected.total(N.evictions, { [REASON]: 'leaked' })).toBe(1);
    expectAgreement(collected, pool);
  });

  it('keeps error types to 32 distinct ones, the rest under _OTHER', async () => {
    const { connector, pool, metrics } = setUp();
    for (let i = 0; i < 40; i++) {
      connector.failNext(Object.assign(new Error('failed'), { code: `E_CODE_${i}` }));
      await expect(pool.acquire('http://a.test')).rejects.toThrow();
    }
    const collected = await metrics.collect();
    const points = collected.sumPoints(N.connectFailures);
    expect(points).toHaveLength(33);
    expect(points.find((p) => p.attributes['error.type'] === '_OTHER')?.value).toBe(8);
    expectAgreement(collected, pool);
  });

  it('keeps server attributes to maxServerAddresses origins, the rest under _OTHER without a port', async () => {
    const { pool, metrics } = setUp({}, { maxServerAddresses: 2 });
    const leases: Lease[] = [];
    for (const url of ['http://a.test', 'https://b.test:8443', 'http://c.test', 'http://d.test', 'http://a.test']) leases.push(await pool.acquire(url));
    const collected = await metrics.collect();
    const servers = collected.sumPoints(N.connectAttempts).map((p) => [p.attributes['server.address'], p.attributes['server.port'], p.value]);
    expect(servers).toEqual(
      expect.arrayContaining([
        ['a.test', 80, 2],
        ['b.test', 8443, 1],
        ['_OTHER', undefined, 2],
      ]),
    );
    expect(servers).toHaveLength(3);
    expect(collected.total(N.openConnections, { 'server.address': '_OTHER', 'http.connection.state': 'active' })).toBe(2);
    expectAgreement(collected, pool);
    for (const lease of leases) lease.release();
  });

  it('puts no secret in any attribute: not TLS key material, not proxy or URL credentials', async () => {
    const { pool, metrics } = setUp();
    const leases = [
      await pool.acquire({ protocol: 'https:', host: 'a.test', port: 443, tls: { passphrase: 'tls-passphrase-secret', key: 'tls-key-secret' }, proxy: 'http://user:proxy-secret@proxy.test:3128' }),
      await pool.acquire('https://user:url-secret@b.test/path?token=query-secret'),
    ];
    const collected = await metrics.collect();
    const text = JSON.stringify(collected.toJSON());
    for (const secret of ['tls-passphrase-secret', 'tls-key-secret', 'proxy-secret', 'url-secret', 'query-secret', 'token', 'user:']) expect(text).not.toContain(secret);
    expect(collected.total(N.openConnections, { 'server.address': 'a.test', 'server.port': 443 })).toBe(1);
    expect(collected.total(N.openConnections, { 'server.address': 'b.test', 'server.port': 443 })).toBe(1);
    for (const lease of leases) lease.release();
  });

  it('keeps two pools apart by pool name on one provider', async () => {
    const { pool, metrics } = setUp({}, { poolName: 'orders' });
    const other = new ConnectionPool({ connector: new FakeConnector(), scheduler: new VirtualClock().scheduler });
    const otherHandle = instrumentConnectionPool(other, { meterProvider: metrics.meterProvider, poolName: 'billing' });
    cleanups.push(() => otherHandle.dispose());
    const leases = [await pool.acquire('http://a.test'), await other.acquire('http://a.test'), await other.acquire('http://a.test')];
    const collected = await metrics.collect();
    expect(collected.total(N.openConnections, { [POOL]: 'orders' })).toBe(1);
    expect(collected.total(N.openConnections, { [POOL]: 'billing' })).toBe(2);
    for (const lease of leases) lease.release();
  });

  it('dispose() stops it: the pool is no longer read at collection, and later events are not recorded', async () => {
    const { clock, pool, metrics, handle } = setUp();
    (await pool.acquire('http://a.test')).release();
    clock.advanceBy(1_000);
    pool.evictAll();
    const before = await metrics.collect();
    expect(before.histogramCount(N.connectionDuration)).toBe(1);

    handle.dispose();
    handle.dispose();
    expect(handle.disposed).toBe(true);
    const stats = vi.spyOn(pool, 'stats');
    const connections = vi.spyOn(pool, 'connections');
    (await pool.acquire('http://a.test')).release();
    pool.evictAll();
    const after = await metrics.collect();
    expect(stats).not.toHaveBeenCalled();
    expect(connections).not.toHaveBeenCalled();
    expect(after.histogramCount(N.connectionDuration)).toBe(1);
    expect(after.histogramCount(N.timeInQueue)).toBe(1);
  });

  it('can be disposed with `using`', async () => {
    const { pool, metrics } = setUp();
    const stats = vi.spyOn(pool, 'stats');
    {
      using _instrumentation = instrumentConnectionPool(pool, { meterProvider: metrics.meterProvider, poolName: 'scoped' });
    }
    stats.mockClear();
    const collected = await metrics.collect();
    // Only the first instrumentation (still live) read the pool.
    expect(stats).toHaveBeenCalledTimes(1);
    expect(collected.total(N.leaseCount, { [POOL]: 'scoped' })).toBe(0);
  });

  it('uses the global MeterProvider of @opentelemetry/api by default', async () => {
    const metrics = new InMemoryMetrics();
    otelMetrics.setGlobalMeterProvider(metrics.meterProvider);
    cleanups.push(async () => {
      otelMetrics.disable();
      await metrics.shutdown();
    });
    const pool = new ConnectionPool({ connector: new FakeConnector(), scheduler: new VirtualClock().scheduler });
    const handle = instrumentConnectionPool(pool);
    cleanups.push(() => handle.dispose());
    const lease = await pool.acquire('http://a.test');
    expect((await metrics.collect()).total(N.openConnections, { 'http.connection.state': 'active' })).toBe(1);
    lease.release();
  });

  it('a MeterProvider whose instruments throw does not disturb the pool', async () => {
    const metrics = new InMemoryMetrics();
    cleanups.push(() => metrics.shutdown());
    const throwing: MeterProvider = {
      getMeter: (name, version, options): Meter => {
        const meter = metrics.meterProvider.getMeter(name, version, options);
        return new Proxy(meter, {
          get: (target, property, receiver) =>
            property === 'createHistogram'
              ? () => ({ record: () => { throw new Error('broken histogram'); } })
              : Reflect.get(target, property, receiver) as unknown,
        });
      },
    };
    const pool = new ConnectionPool({ connector: new FakeConnector(), scheduler: new VirtualClock().scheduler });
    const handle = instrumentConnectionPool(pool, { meterProvider: throwing });
    cleanups.push(() => handle.dispose());
    const events: string[] = [];
    pool.events$.subscribe((event) => events.push(event.type));
    (await pool.acquire('http://a.test')).release();
    expect(pool.evictAll()).toBe(1);
    expect(events).toEqual(['connect-start', 'connect-end', 'connection-acquired', 'connection-released', 'connection-closed']);
    expect((await metrics.collect()).total(N.evictions)).toBe(1);
  });

  it('agrees with stats() at every collection, whatever the pool goes through', async () => {
    type Step = { kind: 'acquire'; address: number } | { kind: 'release'; pick: number } | { kind: 'fail'; address: number } | { kind: 'advance'; ms: number } | { kind: 'evictAll' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('acquire' as const), address: fc.nat({ max: 2 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat({ max: 7 }) }),
      fc.record({ kind: fc.constant('fail' as const), address: fc.nat({ max: 2 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3_000 }) }),
      fc.constant({ kind: 'evictAll' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), fc.integer({ min: 1, max: 3 }), async (steps, maxConnections) => {
        const { clock, connector, pool, metrics, handle } = setUp({ maxConnections, maxIdleConnections: 2, keepAlive: '2s', acquireTimeout: '1s' });
        const leases: Lease[] = [];
        const pending: Array<Promise<unknown>> = [];
        for (const s of steps) {
          const url = `http://s${s.kind === 'acquire' || s.kind === 'fail' ? s.address : 0}.test`;
          if (s.kind === 'fail') connector.failNext(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
          if (s.kind === 'acquire' || s.kind === 'fail') {
            pending.push(pool.acquire(url).then((lease) => leases.push(lease), () => undefined));
          } else if (s.kind === 'release') {
            leases.splice(s.pick % Math.max(1, leases.length), 1)[0]?.release();
          } else if (s.kind === 'advance') {
            clock.advanceBy(s.ms);
          } else {
            pool.evictAll();
          }
          await settle();
          expectAgreement(await metrics.collect(), pool);
        }
        for (const lease of leases) lease.release();
        clock.advanceBy(5_000);
        await Promise.all(pending);
        expectAgreement(await metrics.collect(), pool);
        handle.dispose();
        await metrics.shutdown();
      }),
      { numRuns: 25 },
    );
  });

  it('refuses bad options, naming the option', () => {
    const pool = new ConnectionPool({ connector: new FakeConnector() });
    const cases: Array<[unknown, unknown, string]> = [
      [pool, { meterProvider: {} }, 'meterProvider'],
      [pool, { poolName: '' }, 'poolName'],
      [pool, { poolName: 'has space' }, 'poolName'],
      [pool, { maxServerAddresses: -1 }, 'maxServerAddresses'],
      [pool, { maxServerAddresses: 1.5 }, 'maxServerAddresses'],
      [pool, 'options', 'options'],
      [{}, {}, 'pool'],
      [null, {}, 'pool'],
    ];
    for (const [target, options, option] of cases) {
      expect(() => instrumentConnectionPool(target as ConnectionPool, options as InstrumentConnectionPoolOptions)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', option }),
      );
    }
  });
});

const gc = (globalThis as { gc?: () => void }).gc;

/** Acquires and drops a lease without releasing it (in its own frame, so nothing keeps it). */
async function leakOne(pool: ConnectionPool): Promise<void> {
  await pool.acquire('http://leak.test');
}

async function collectGarbageUntil(done: () => boolean): Promise<void> {
  if (!gc) throw new Error('This test needs --expose-gc (vitest.config.ts passes it).');
  for (let round = 0; round < 50 && !done(); round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(done()).toBe(true);
}
