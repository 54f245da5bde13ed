import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { ConnectionPoolOptions, Duration } from '../../src/pool/index.js';
import {
  ConnectionPoolHealthIndicator,
  ConnectionPoolHealthModule,
  ConnectionPoolModule,
  getConnectionPoolToken,
} from '../../src/nest/index.js';
import { HealthController } from './support/health.controller.js';
import { LoopbackServer } from './support/loopback-server.js';
import { createApp } from './support/nest-app.js';
import { echo, tcpConnector } from './support/tcp-connector.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { waitFor } from '../support/wait-for.js';

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
  if (app) {
    // A test may leave a lease held: close without waiting for it (the drain timeout runs on the virtual clock).
    const closing = app.get(ConnectionPool).close({ timeout: 1 });
    clock.advanceBy(1);
    await closing;
    await app.close();
  }
  app = undefined;
  await upstream.stop();
});

async function start(options: Omit<ConnectionPoolOptions, 'connector' | 'scheduler'> = {}, extra: ConnectionPoolOptions & { name: string } | null = null) {
  app = await createApp({
    imports: [
      ConnectionPoolModule.forRoot({ connector: tcpConnector, scheduler: clock.scheduler, ...options }),
      ...(extra ? [ConnectionPoolModule.forRoot(extra)] : []),
      TerminusModule.forRoot({ logger: false }),
      ConnectionPoolHealthModule,
    ],
    controllers: [HealthController],
  });
  return { app, pool: app.get(ConnectionPool), http: request(app.getHttpServer()) };
}

/** One exchange over a pooled connection, so that the pool has connected (or tried to). */
async function use(pool: ConnectionPool, url = upstream.url): Promise<void> {
  const lease = await pool.acquire(url);
  try {
    expect(await echo(lease, 'ping')).toBe('ping');
  } finally {
    lease.release();
  }
}

/** Acquires and drops the lease without releasing it, in its own frame so that nothing keeps it. */
async function leakOne(pool: ConnectionPool): Promise<void> {
  await pool.acquire(upstream.url);
}

describe('readiness: isHealthy()', () => {
  it('is up with details after traffic: connections by state, waiters, limits, cleanup', async () => {
    const { pool, http } = await start({ maxConnectionsPerAddress: 4 });
    await use(pool);
    const response = await http.get('/health/ready').expect(200);
    expect(response.body.status).toBe('ok');
    expect(response.body.details.pool).toEqual({
      status: 'up',
      pool: 'default',
      state: 'open',
      connections: { total: 1, connecting: 0, idle: 1, inUse: 0 },
      leases: 0,
      waiters: 0,
      limits: { maxConnections: null, maxConnectionsPerAddress: 4 },
      utilization: 0,
      connectFailures: { total: 0, unreachable: [] },
      criticalAddresses: [],
      acquireTimeouts: { total: 0, recent: 0 },
      leaks: { total: 0, recent: 0, recentHeldTooLong: 0 },
      cleanup: { lastTickAt: 0, lastDelay: 300_000, nextTickAt: 300_000 },
      windowMs: 30_000,
      reasons: [],
    });
  });

  it('turns down when a critical upstream is stopped, and up again when it returns', async () => {
    const { pool, http } = await start();
    const ready = `/health/ready?critical=${encodeURIComponent(upstream.url)}`;
    await use(pool);
    await http.get(ready).expect(200);

    await upstream.stop();
    // The pooled connection is cut by the server: the pool evicts it (peer-closed).
    await waitFor(() => pool.connectionCount() === 0, 'the pooled connection to be evicted');
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const down = await http.get(ready).expect(503);
    expect(down.body.status).toBe('error');
    const details = down.body.error.pool;
    expect(details.status).toBe('down');
    expect(details.connectFailures.total).toBe(2);
    expect(details.criticalAddresses).toEqual([`tcp://127.0.0.1:${upstream.port}`]);
    expect(details.connectFailures.unreachable).toEqual([
      {
        address: `tcp://127.0.0.1:${upstream.port}`,
        consecutiveFailures: 2,
        lastFailureAt: 0,
        lastSuccessAt: 0,
        lastError: { name: 'Error', code: 'ECONNREFUSED', message: expect.stringContaining('ECONNREFUSED') },
        critical: true,
      },
    ]);
    expect(details.message).toContain(`tcp://127.0.0.1:${upstream.port} is unreachable: its last 2 connect(s) failed: ECONNREFUSED`);
    expect(details.message).toContain('(a critical address)');
    // 'all' makes every address critical.
    await http.get('/health/ready?critical=all').expect(503);
    // Liveness never depends on an upstream.
    await http.get('/health/live').expect(200);

    await upstream.start();
    await use(pool);
    const up = await http.get(ready).expect(200);
    expect(up.body.details.pool).toMatchObject({ status: 'up', connectFailures: { total: 2, unreachable: [] }, reasons: [] });
  });

  it('reports an unreachable address that is not critical as degraded, never down', async () => {
    const { pool, http } = await start();
    await use(pool);
    await upstream.stop();
    await waitFor(() => pool.connectionCount() === 0, 'the pooled connection to be evicted');
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    // No critical address declared (the default): the pool itself is fine.
    const byDefault = await http.get('/health/ready').expect(200);
    expect(byDefault.body.status).toBe('degraded');
    expect(byDefault.body.details.pool).toMatchObject({
      status: 'degraded',
      criticalAddresses: [],
      connectFailures: { total: 1, unreachable: [{ address: `tcp://127.0.0.1:${upstream.port}`, consecutiveFailures: 1, critical: false }] },
    });
    expect(byDefault.body.details.pool.message).toContain(`tcp://127.0.0.1:${upstream.port} is unreachable: its last 1 connect(s) failed: ECONNREFUSED`);
    expect(byDefault.body.details.pool.message).toContain('(not a critical address)');

    // Another address is critical (and fine): still degraded, not down.
    const other = await new LoopbackServer().start();
    try {
      await use(pool, other.url);
      const withOther = await http.get(`/health/ready?critical=${encodeURIComponent(other.url)}`).expect(200);
      expect(withOther.body.details.pool).toMatchObject({ status: 'degraded', criticalAddresses: [`tcp://127.0.0.1:${other.port}`] });
    } finally {
      await other.stop();
    }
  });

  it('matches a critical address by origin, whatever TLS options the pool address carries', async () => {
    const { pool } = await start();
    const indicator = app!.get(ConnectionPoolHealthIndicator);
    await upstream.stop();
    const withTls = { host: '127.0.0.1', port: upstream.port, tls: { ALPNProtocols: ['http/1.1'] } };
    await expect(pool.acquire(withTls)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const check = indicator.isHealthy('pool', { criticalAddresses: [`tls://127.0.0.1:${upstream.port}`] }).pool;
    expect(check.status).toBe('down');
    expect((check as unknown as { connectFailures: { unreachable: Array<{ address: string; critical: boolean }> } }).connectFailures.unreachable).toEqual([
      expect.objectContaining({ address: expect.stringMatching(new RegExp(`^tls://127\\.0\\.0\\.1:${upstream.port}#`)), critical: true }),
    ]);
    // Another port of the same host is another origin.
    expect(indicator.isHealthy('pool', { criticalAddresses: [{ host: '127.0.0.1', port: upstream.port + 1, tls: {} }] }).pool.status).toBe('degraded');
  });

  it('forgets connect failures older than the window when nothing has tried since', async () => {
    const { pool, http } = await start();
    await upstream.stop();
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    clock.advanceBy(30_000);
    await http.get('/health/ready?critical=all').expect(503);
    clock.advanceBy(1);
    const response = await http.get('/health/ready?critical=all').expect(200);
    expect(response.body.details.pool.connectFailures).toEqual({ total: 1, unreachable: [] });
  });

  it('needs minConnectFailures failures in a row before an address counts as unreachable', async () => {
    const { pool } = await start();
    const indicator = app!.get(ConnectionPoolHealthIndicator);
    await upstream.stop();
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const options = { minConnectFailures: 2, criticalAddresses: [upstream.url] };
    expect(indicator.isHealthy('pool', options).pool.status).toBe('up');
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(indicator.isHealthy('pool', options).pool.status).toBe('down');
  });

  it('turns down while acquirers time out, and back once the timeouts are older than the window', async () => {
    const { pool, http } = await start({ maxConnections: 1, acquireTimeout: '1s' });
    const held = await pool.acquire(upstream.url);
    const waiting = pool.acquire(upstream.url);
    const busy = await http.get('/health/ready').expect(200);
    expect(busy.body.status).toBe('degraded');
    expect(busy.body.details.pool).toMatchObject({ status: 'degraded', waiters: 1, utilization: 1 });

    clock.advanceBy(1_000);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ACQUIRE_TIMEOUT' });
    const down = await http.get('/health/ready').expect(503);
    expect(down.body.error.pool).toMatchObject({ status: 'down', acquireTimeouts: { total: 1, recent: 1 } });
    expect(down.body.error.pool.message).toContain('1 acquire(s) timed out (ERR_ACQUIRE_TIMEOUT)');

    held.release();
    clock.advanceBy(30_000);
    const up = await http.get('/health/ready').expect(200);
    expect(up.body.details.pool).toMatchObject({ status: 'up', acquireTimeouts: { total: 1, recent: 0 } });
  });

  it('does not count a rise of acquire timeouts first seen long after the sample before it, but counts the next one', async () => {
    const { pool } = await start({ maxConnections: 1, acquireTimeout: '1s' });
    const indicator = app!.get(ConnectionPoolHealthIndicator);
    const held = await pool.acquire(upstream.url);
    const first = pool.acquire(upstream.url);
    clock.advanceBy(1_000);
    await expect(first).rejects.toMatchObject({ code: 'ERR_ACQUIRE_TIMEOUT' });
    clock.advanceBy(60_000);
    // When in the last minute it happened is unknown: not reported as recent.
    expect(indicator.isHealthy('pool', { degradedUtilization: Infinity }).pool).toMatchObject({
      status: 'up',
      acquireTimeouts: { total: 1, recent: 0 },
    });
    const second = pool.acquire(upstream.url);
    clock.advanceBy(1_000);
    await expect(second).rejects.toMatchObject({ code: 'ERR_ACQUIRE_TIMEOUT' });
    expect(indicator.isHealthy('pool', { degradedUtilization: Infinity }).pool).toMatchObject({
      status: 'down',
      acquireTimeouts: { total: 2, recent: 1 },
    });
    held.release();
  });

  it('is degraded (still 200) after a lease leaked, until the leak is older than the window', async () => {
    const { pool, http } = await start();
    await leakOne(pool);
    for (let round = 0; round < 50 && pool.stats().totals.leaked === 0; round++) {
      gc?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(pool.stats().totals.leaked).toBe(1);
    const degraded = await http.get('/health/ready').expect(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.info.pool).toMatchObject({ status: 'degraded', leaks: { total: 1, recent: 1 } });
    expect(degraded.body.info.pool.message).toContain('1 lease(s) leaked');

    clock.advanceBy(30_001);
    const up = await http.get('/health/ready').expect(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.info.pool.leaks).toEqual({ total: 1, recent: 0, recentHeldTooLong: 0 });
  });

  it('is degraded when a lease is held longer than leakDetectionThreshold', async () => {
    const { pool, http } = await start({ leakDetectionThreshold: '10s' });
    const held = await pool.acquire(upstream.url);
    clock.advanceBy(10_000);
    const response = await http.get('/health/ready').expect(200);
    expect(response.body.details.pool).toMatchObject({ status: 'degraded', leaks: { total: 0, recentHeldTooLong: 1 } });
    held.release();
  });

  it('is degraded when busy connections reach a share of maxConnectionsPerAddress, up again below it', async () => {
    const { pool, http } = await start({ maxConnectionsPerAddress: 4 });
    const leases = [await pool.acquire(upstream.url), await pool.acquire(upstream.url)];
    const indicator = app!.get(ConnectionPoolHealthIndicator);
    expect(indicator.isHealthy('pool', { degradedUtilization: 0.5 }).pool).toMatchObject({ status: 'degraded', utilization: 0.5 });
    expect(indicator.isHealthy('pool', { degradedUtilization: 0.75 }).pool).toMatchObject({ status: 'up', utilization: 0.5 });
    leases.pop()?.release();
    const response = await http.get('/health/ready').expect(200);
    expect(response.body.details.pool).toMatchObject({ status: 'up', utilization: 0.25 });
    leases.pop()?.release();
  });

  it('is down while the pool is closing and once it is closed', async () => {
    const { pool, http } = await start();
    const held = await pool.acquire(upstream.url);
    const closing = pool.close();
    const whileClosing = await http.get('/health/ready').expect(503);
    expect(whileClosing.body.error.pool).toMatchObject({ status: 'down', state: 'closing', reasons: ['the pool is closing'] });
    held.release();
    await closing;
    const closed = await http.get('/health/ready').expect(503);
    expect(closed.body.error.pool).toMatchObject({ status: 'down', state: 'closed' });
  });

  it('checks each named pool on its own', async () => {
    const other = await new LoopbackServer().start();
    try {
      const { pool, http } = await start({}, { name: 'payments', connector: tcpConnector, scheduler: clock.scheduler });
      const payments = app!.get<ConnectionPool>(getConnectionPoolToken('payments'));
      await use(pool);
      await other.stop();
      await expect(payments.acquire(other.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await http.get('/health/ready?critical=all').expect(200);
      const response = await http.get('/health/ready?pool=payments&critical=all').expect(503);
      expect(response.body.error.pool).toMatchObject({ pool: 'payments', status: 'down' });
    } finally {
      await other.stop();
    }
  });

  it('throws for an unknown pool or a bad option (a wrong health check is a bug, not a pool state)', async () => {
    await start();
    const indicator = app!.get(ConnectionPoolHealthIndicator);
    expect(() => indicator.isHealthy('pool', { pool: 'nope' })).toThrow(/Invalid option "pool": "nope".*\(registered: "default"\)/);
    expect(() => indicator.isHealthy('pool', { window: '0s' })).toThrow(/Invalid option "window"/);
    expect(() => indicator.isHealthy('pool', { minConnectFailures: 0 })).toThrow(/Invalid option "minConnectFailures": 0/);
    expect(() => indicator.isHealthy('pool', { degradedWaiters: 1.5 })).toThrow(/Invalid option "degradedWaiters"/);
    expect(() => indicator.isHealthy('pool', { degradedUtilization: 2 })).toThrow(/Invalid option "degradedUtilization": 2/);
    expect(() => indicator.isHealthy('pool', { criticalAddresses: 'some' as never })).toThrow(/Invalid option "criticalAddresses": "some"/);
    // A bad address is named by its index, and shown without credentials or query.
    expect(() => indicator.isHealthy('pool', { criticalAddresses: ['ftp://user:s3cret@host/?token=t0k'] })).toThrow(
      /Invalid option "criticalAddresses\[0\]": "ftp:\/\/\*\*\*@host\/"/,
    );
    expect(() => indicator.isHealthy('pool', { criticalAddresses: ['ftp://user:s3cret@host/?token=t0k'] })).not.toThrow(/s3cret|t0k/);
    expect(() => indicator.isAlive('pool', { grace: 'later' as Duration })).toThrow(/Invalid option "grace"/);
    expect(() => indicator.isAlive('pool', { pool: 'nope' })).toThrow(/Invalid option "pool"/);
    await request(app!.getHttpServer()).get('/health/ready?pool=nope').expect(500);
  });
});

describe('liveness: isAlive()', () => {
  it('is up while the cleanup stream keeps time, down once its tick is overdue past the grace, up when it runs', async () => {
    const { pool, http } = await start();
    await use(pool);
    expect(pool.stats().cleanup.nextTickAt).toBe(300_000);
    const alive = await http.get('/health/live').expect(200);
    expect(alive.body.details.pool).toMatchObject({ status: 'up', state: 'open', graceMs: 5_000, cleanup: { overdueMs: 0 } });

    // The clock moves on but the due tick does not run: the cleanup stream is stalled.
    clock.jumpBy(305_001);
    const stalled = await http.get('/health/live').expect(503);
    expect(stalled.body.error.pool).toMatchObject({ status: 'down', cleanup: { nextTickAt: 300_000, overdueMs: 5_001 } });
    expect(stalled.body.error.pool.message).toContain('the cleanup stream is stalled');

    clock.advanceBy(0);
    const again = await http.get('/health/live').expect(200);
    expect(again.body.details.pool).toMatchObject({ status: 'up', cleanup: { nextTickAt: null, overdueMs: 0 } });
  });

  it('stays up while the upstream is unreachable and after the pool closed', async () => {
    const { pool, http } = await start();
    await upstream.stop();
    await expect(pool.acquire(upstream.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await http.get('/health/live').expect(200);
    await pool.close();
    const response = await http.get('/health/live').expect(200);
    expect(response.body.details.pool).toMatchObject({ status: 'up', state: 'closed' });
  });
});
