import type { INestApplication } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Registry, register as defaultRegistry } from 'prom-client';
import { Subject } from 'rxjs';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { PoolEvent, PoolStats } from '../../src/pool/index.js';
import {
  CONNECTION_POOL_METRIC_NAMES,
  ConnectionPoolMetrics,
  ConnectionPoolMetricsModule,
  ConnectionPoolModule,
  getConnectionPoolToken,
} from '../../src/nest/index.js';
import { LoopbackServer } from './support/loopback-server.js';
import { MetricsController } from './support/metrics.controller.js';
import { createApp } from './support/nest-app.js';
import { parsePrometheusText } from './support/prometheus-text.js';
import { echo, tcpConnector } from './support/tcp-connector.js';
import { VirtualClock } from '../support/virtual-clock.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('These tests need --expose-gc (vitest.config.ts passes it).');

let upstream: LoopbackServer;
let clock: VirtualClock;
let app: INestApplication | undefined;

beforeEach(async () => {
  upstream = await new LoopbackServer().start();
  clock = new VirtualClock();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await upstream.stop();
});

const m = (name: (typeof CONNECTION_POOL_METRIC_NAMES)[number]): string => `connection_pool_${name}`;

describe('ConnectionPoolMetricsModule with a bare Registry', () => {
  it('exposes every metric, with values that follow the traffic', async () => {
    const registry = new Registry();
    app = await createApp({
      imports: [
        ConnectionPoolModule.forRoot({ connector: tcpConnector, scheduler: clock.scheduler, maxConnections: 1, acquireTimeout: '1s' }),
        ConnectionPoolMetricsModule.forRoot({ registry }),
      ],
      controllers: [MetricsController],
    });
    const pool = app.get(ConnectionPool);
    const address = `tcp://127.0.0.1:${upstream.port}`;

    for (const text of ['a', 'b', 'c']) {
      const lease = await pool.acquire(upstream.url);
      expect(await echo(lease, text)).toBe(text);
      clock.advanceBy(5); // held 5 ms
      lease.release();
    }
    const held = await pool.acquire(upstream.url);
    const waiting = pool.acquire(upstream.url);
    clock.advanceBy(1_000);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ACQUIRE_TIMEOUT' });
    const refused = await new LoopbackServer().start();
    await refused.stop();
    held.release();
    await expect(pool.acquire(refused.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const lease = await pool.acquire(upstream.url); // held while scraped

    const response = await request(app.getHttpServer()).get('/metrics').expect(200);
    const metrics = parsePrometheusText(response.text);
    for (const name of CONNECTION_POOL_METRIC_NAMES) expect(metrics.types.has(m(name)), name).toBe(true);
    expect(metrics.types.get(m('connections'))).toBe('gauge');
    expect(metrics.types.get(m('connects_total'))).toBe('counter');
    expect(metrics.types.get(m('acquire_wait_seconds'))).toBe('histogram');

    const pl = { pool: 'default' };
    expect(metrics.value(m('connections'), { ...pl, state: 'inUse' })).toBe(1);
    expect(metrics.value(m('connections'), { ...pl, state: 'idle' })).toBe(0);
    expect(metrics.value(m('connections'), { ...pl, state: 'connecting' })).toBe(0);
    expect(metrics.value(m('address_connections'), { ...pl, address })).toBe(1);
    expect(metrics.value(m('leases'), pl)).toBe(1);
    expect(metrics.value(m('waiters'), pl)).toBe(0);
    // The refused address's connect made room by closing the idle connection (maxConnections 1).
    expect(metrics.value(m('connects_total'), { ...pl, address })).toBe(2);
    expect(metrics.value(m('connects_total'), { ...pl, address: `tcp://127.0.0.1:${refused.port}` })).toBe(1);
    expect(metrics.value(m('connect_failures_total'), { ...pl, address: `tcp://127.0.0.1:${refused.port}` })).toBe(1);
    expect(metrics.value(m('connect_failures_total'), { ...pl, address })).toBeUndefined();
    expect(metrics.value(m('acquisitions_total'), { ...pl, reused: 'false' })).toBe(2);
    expect(metrics.value(m('acquisitions_total'), { ...pl, reused: 'true' })).toBe(3);
    expect(metrics.value(m('evictions_total'), { ...pl, reason: 'capacity' })).toBe(1);
    expect(metrics.value(m('leaks_total'), pl)).toBe(0);
    expect(metrics.value(m('retries_total'), pl)).toBe(0);
    expect(metrics.value(m('acquire_timeouts_total'), pl)).toBe(1);
    expect(metrics.value(`${m('acquire_wait_seconds')}_count`, pl)).toBe(5);
    expect(metrics.value(`${m('lease_hold_seconds')}_count`, pl)).toBe(4);
    expect(metrics.value(`${m('lease_hold_seconds')}_sum`, pl)).toBeCloseTo(0.015 + 1);
    expect(metrics.value(`${m('lease_hold_seconds')}_bucket`, { ...pl, le: '0.001' })).toBe(0);
    expect(metrics.value(`${m('lease_hold_seconds')}_bucket`, { ...pl, le: '0.01' })).toBe(3);
    expect(metrics.value(`${m('connect_duration_seconds')}_count`, pl)).toBe(2);
    expect(metrics.value(m('max_connections'), pl)).toBe(1);
    expect(metrics.value(m('max_connections_per_address'), pl)).toBe(Infinity);
    expect(metrics.value(m('cleanup_overdue_seconds'), pl)).toBe(0);
    lease.release();
  });

  it("shows how late the cleanup stream's next tick is: 0 on time, growing once its timer no longer runs", async () => {
    const registry = new Registry();
    app = await createApp({
      imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector, scheduler: clock.scheduler, keepAlive: '10s' }), ConnectionPoolMetricsModule.forRoot({ registry })],
    });
    const pool = app.get(ConnectionPool);
    (await pool.acquire(upstream.url)).release();
    const overdue = async (): Promise<number | undefined> => parsePrometheusText(await registry.metrics()).value(m('cleanup_overdue_seconds'), { pool: 'default' });
    clock.advanceBy(9_000);
    expect(await overdue()).toBe(0);
    // The tick due at 10 s never runs: the clock moves on without it.
    clock.jumpBy(4_000);
    expect(await overdue()).toBe(3);
    clock.advanceBy(0);
    expect(await overdue()).toBe(0);
  });

  it('labels two pools apart', async () => {
    const registry = new Registry();
    app = await createApp({
      imports: [
        ConnectionPoolModule.forRoot({ connector: tcpConnector, scheduler: clock.scheduler }),
        ConnectionPoolModule.forRoot({ name: 'payments', connector: tcpConnector, scheduler: clock.scheduler }),
        ConnectionPoolMetricsModule.forRoot({ registry }),
      ],
    });
    const payments = app.get<ConnectionPool>(getConnectionPoolToken('payments'));
    (await payments.acquire(upstream.url)).release();
    (await payments.acquire(upstream.url)).release();
    const metrics = parsePrometheusText(await registry.metrics());
    expect(metrics.value(m('acquisitions_total'), { pool: 'payments', reused: 'true' })).toBe(1);
    expect(metrics.value(m('acquisitions_total'), { pool: 'default', reused: 'true' })).toBe(0);
    expect(metrics.value(m('connections'), { pool: 'payments', state: 'idle' })).toBe(1);
    expect(metrics.value(m('connections'), { pool: 'default', state: 'idle' })).toBe(0);
    expect(app.get(ConnectionPoolMetrics).pools).toEqual(['default', 'payments']);
  });

  it('takes its options from forRootAsync', async () => {
    const registry = new Registry();
    app = await createApp({
      imports: [
        ConnectionPoolModule.forRoot({ connector: tcpConnector }),
        ConnectionPoolMetricsModule.forRootAsync({ useFactory: () => ({ registry, prefix: 'edge_pool_' }) }),
      ],
    });
    const metrics = parsePrometheusText(await registry.metrics());
    expect(metrics.value('edge_pool_connections', { pool: 'default', state: 'idle' })).toBe(0);
    expect(metrics.types.has(m('connections'))).toBe(false);
  });
});

describe('ConnectionPoolMetricsModule with the default registry and @willsoto/nestjs-prometheus', () => {
  it('shows the pool metrics on its /metrics, and leaves the default registry clean on shutdown', async () => {
    const start = () =>
      createApp({
        imports: [
          PrometheusModule.register({ defaultMetrics: { enabled: false } }),
          ConnectionPoolModule.forRoot({ connector: tcpConnector }),
          ConnectionPoolMetricsModule.forRoot(),
        ],
      });
    app = await start();
    (await app.get(ConnectionPool).acquire(upstream.url)).release();
    const response = await request(app.getHttpServer()).get('/metrics').expect(200);
    const metrics = parsePrometheusText(response.text);
    expect(metrics.value(m('acquisitions_total'), { pool: 'default', reused: 'false' })).toBe(1);
    expect(metrics.value(m('connections'), { pool: 'default', state: 'idle' })).toBe(1);

    await app.close();
    app = undefined;
    expect(defaultRegistry.getSingleMetric(m('connections'))).toBeUndefined();
    // So the next application of the process registers them again.
    app = await start();
    const again = parsePrometheusText((await request(app.getHttpServer()).get('/metrics').expect(200)).text);
    expect(again.value(m('acquisitions_total'), { pool: 'default', reused: 'false' })).toBe(0);
  });
});

describe('ConnectionPoolMetrics', () => {
  it('bounds the address label: past maxAddressLabels, addresses share "other"', async () => {
    const registry = new Registry();
    const metrics = new ConnectionPoolMetrics({ registry, maxAddressLabels: 2 });
    const pool = new ConnectionPool({ connector: tcpConnector, scheduler: clock.scheduler });
    metrics.track('default', pool);
    const servers = [upstream, await new LoopbackServer().start(), await new LoopbackServer().start(), await new LoopbackServer().start()];
    try {
      for (const server of servers) (await pool.acquire(server.url)).release();
      const exposition = parsePrometheusText(await registry.metrics());
      const labels = exposition.all(m('connects_total')).map((s) => [s.labels.address, s.value]);
      expect(labels).toEqual([
        [`tcp://127.0.0.1:${servers[0]?.port}`, 1],
        [`tcp://127.0.0.1:${servers[1]?.port}`, 1],
        ['other', 2],
      ]);
      expect(exposition.value(m('address_connections'), { address: 'other' })).toBe(2);
    } finally {
      metrics.dispose();
      await pool.close();
      for (const server of servers.slice(1)) await server.stop();
    }
  });

  it('counts leaks and evictions by reason', async () => {
    const registry = new Registry();
    const metrics = new ConnectionPoolMetrics({ registry });
    const pool = new ConnectionPool({ connector: tcpConnector, scheduler: clock.scheduler });
    metrics.track('default', pool);
    const leakOne = async (): Promise<void> => {
      await pool.acquire(upstream.url);
    };
    await leakOne();
    for (let round = 0; round < 50 && pool.stats().totals.leaked === 0; round++) {
      gc?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    (await pool.acquire(upstream.url)).release();
    pool.evictAll();
    const exposition = parsePrometheusText(await registry.metrics());
    expect(exposition.value(m('leaks_total'), { pool: 'default' })).toBe(1);
    expect(exposition.value(m('evictions_total'), { reason: 'leaked' })).toBe(1);
    expect(exposition.value(m('evictions_total'), { reason: 'evict-all' })).toBe(1);
    metrics.dispose();
    await pool.close();
  });

  it('counts retries from the "retry" events of the HTTP layer', async () => {
    const registry = new Registry();
    const metrics = new ConnectionPoolMetrics({ registry });
    const events = new Subject<PoolEvent>();
    const stats = { waiters: 0, leases: 0, connecting: 0, idle: 0, inUse: 0, cleanup: { nextTickAt: null }, totals: { acquireTimeouts: 0 } } as unknown as PoolStats;
    const options = { maxConnections: Infinity, maxConnectionsPerAddress: Infinity, scheduler: { now: () => 0 } };
    const fake = { events$: events, options, stats: () => stats, connections: () => [] } as unknown as ConnectionPool;
    metrics.track('default', fake);
    events.next({ type: 'retry', at: 0, connectionId: 'c1', address: 'http://a.test:80', method: 'GET', reason: 'connection-reset' });
    events.next({ type: 'retry', at: 1, connectionId: 'c2', address: 'http://a.test:80', method: 'PUT', reason: 'stream-refused' });
    expect(parsePrometheusText(await registry.metrics()).value(m('retries_total'), { pool: 'default' })).toBe(2);
    metrics.dispose();
  });

  it('refuses a second instance with the same names in one registry, and leaves the registry as it was', () => {
    const registry = new Registry();
    const first = new ConnectionPoolMetrics({ registry });
    const before = registry.getMetricsAsArray().length;
    expect(() => new ConnectionPoolMetrics({ registry })).toThrow(
      /Invalid option "prefix": "connection_pool_".*"connection_pool_connections" already is in this registry/,
    );
    expect(registry.getMetricsAsArray()).toHaveLength(before);
    const other = new ConnectionPoolMetrics({ registry, prefix: 'other_pool_' });
    first.dispose();
    expect(registry.getMetricsAsArray()).toHaveLength(before);
    expect(() => new ConnectionPoolMetrics({ registry })).not.toThrow();
    other.dispose();
  });

  it('rejects bad options, naming them', () => {
    expect(() => new ConnectionPoolMetrics({ prefix: '9lives_' })).toThrow(/Invalid option "prefix": "9lives_"/);
    expect(() => new ConnectionPoolMetrics({ maxAddressLabels: -1 })).toThrow(/Invalid option "maxAddressLabels": -1/);
    expect(() => new ConnectionPoolMetrics({ buckets: { connect: [1, 0.5] } })).toThrow(/Invalid option "buckets.connect"/);
    expect(() => new ConnectionPoolMetrics({ registry: {} as Registry })).toThrow(/Invalid option "registry"/);
    expect(defaultRegistry.getSingleMetric(m('connections'))).toBeUndefined();
  });

  it('tracks a pool name once, and nothing after dispose()', () => {
    const metrics = new ConnectionPoolMetrics({ registry: new Registry() });
    const pool = new ConnectionPool({ connector: tcpConnector, scheduler: clock.scheduler });
    const stop = metrics.track('default', pool);
    expect(() => metrics.track('default', pool)).toThrow(/Invalid option "name": "default"/);
    stop();
    expect(metrics.pools).toEqual([]);
    metrics.dispose();
    expect(() => metrics.track('default', pool)).toThrow(/disposed/);
  });
});
