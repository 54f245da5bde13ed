import type * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { ConnectionPoolOptions, PoolEvent } from '../../src/pool/index.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { fileDescriptorsBackTo, openFileDescriptors } from '../support/open-files.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { waitFor } from '../support/wait-for.js';
import { nodeHttpClient, type ClientOutcome } from './support/clients.js';
import { EventLoopLag } from './support/event-loop-lag.js';
import { runLoad } from './support/load.js';
import { expectClosedCleanly } from './support/pool-invariants.js';
import { startChaosUpstream } from './support/upstream.js';

/**
 * `close()` under load: requests in flight are drained within the drain timeout (or cut, with
 * a clear error, once it passes), requests waiting for a connection and new ones get
 * ERR_POOL_CLOSED, and afterwards no socket is left in the process. The drain timeout is pool
 * time: it runs on a virtual clock where the test decides when it passes.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** A server that answers each request only when the test says so: `release(n)` answers the n oldest. */
async function holdingServer(): Promise<{ server: HttpTestServer; held: http.ServerResponse[]; release(count?: number): void }> {
  const held: http.ServerResponse[] = [];
  const server = await startHttpServer(
    (req, res) => {
      req.resume();
      res.setHeader('content-type', 'text/plain');
      (res as http.ServerResponse & { path?: string }).path = req.url ?? '';
      held.push(res);
    },
    { keepAliveTimeout: 0 },
  );
  cleanups.push(() => server.close());
  return {
    server,
    held,
    release(count = held.length) {
      for (const res of held.splice(0, count)) res.end(`answer ${(res as http.ServerResponse & { path?: string }).path}`);
    },
  };
}

function poolWith(options: ConnectionPoolOptions): { pool: ConnectionPool; events: PoolEvent[] } {
  const pool = new ConnectionPool(options);
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  cleanups.push(() => pool.close({ timeout: 1 }));
  return { pool, events };
}

describe('close() under load', () => {
  it('drains the requests in flight, refuses those waiting and new ones with ERR_POOL_CLOSED, and leaves no socket', async () => {
    const { server, held, release } = await holdingServer();
    const baseline = openFileDescriptors();
    const clock = new VirtualClock();
    const { pool, events } = poolWith({ scheduler: clock.scheduler, maxConnectionsPerAddress: 16, drainTimeout: '10s' });
    const client = nodeHttpClient({ name: 'PooledAgent', origin: server.origin, agent: pool.httpAgent(), retryStaleOnce: true });
    const send = (i: number): Promise<ClientOutcome> => client.send({ method: 'GET', path: `/${i}`, signal: new AbortController().signal });

    // 64 requests: 16 reach the server (the limit), 48 wait for a connection.
    const outcomes = Array.from({ length: 64 }, (_, i) => send(i));
    await waitFor(() => held.length === 16 && pool.stats().waiters === 48, '16 requests in flight and 48 waiting');

    const closed = pool.close();
    let closedYet = false;
    void closed.then(() => (closedYet = true));
    // New requests are refused at once; so are the 48 that were waiting.
    expect(await send(64)).toMatchObject({ ok: false, code: 'ERR_POOL_CLOSED' });
    const waiting = await Promise.all(outcomes.slice(16));
    expect(waiting.every((o) => !o.ok && o.code === 'ERR_POOL_CLOSED')).toBe(true);
    expect(pool.stats()).toMatchObject({ state: 'closing', leases: 16, waiters: 0 });

    // The requests in flight finish on their own time, within the drain timeout (virtual: no time passes).
    release(10);
    await waitFor(() => pool.stats().leases === 6, 'ten responses to be read and their leases released');
    expect(closedYet).toBe(false);
    release();
    const inFlight = await Promise.all(outcomes.slice(0, 16));
    expect(inFlight.map((o) => o.ok && o.body)).toEqual(Array.from({ length: 16 }, (_, i) => `answer /${i}`));
    await closed;
    expect(clock.now).toBe(0);
    expect(events.find((e) => e.type === 'pool-closed')).toMatchObject({ forced: 0 });
    expectClosedCleanly(pool, events);
    await waitFor(() => server.sockets.every((s) => s.closed), 'the server to see every connection close');
    expect(await fileDescriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('cuts the requests still in flight when the drain timeout passes, each with a clear error, and leaves no socket', async () => {
    const { server, held, release } = await holdingServer();
    const baseline = openFileDescriptors();
    const clock = new VirtualClock();
    const { pool, events } = poolWith({ scheduler: clock.scheduler, drainTimeout: '2s' });
    const client = nodeHttpClient({ name: 'PooledAgent', origin: server.origin, agent: pool.httpAgent(), retryStaleOnce: true });
    const outcomes = Array.from({ length: 8 }, (_, i) => client.send({ method: 'GET', path: `/${i}`, signal: new AbortController().signal }));
    await waitFor(() => held.length === 8, 'eight requests in flight');

    const closed = pool.close();
    clock.advanceBy(1_999);
    expect(pool.stats()).toMatchObject({ state: 'closing', leases: 8 });
    release(3);
    await waitFor(() => pool.stats().leases === 5, 'three responses to be read');
    clock.advanceBy(1);
    await closed;
    const results = await Promise.all(outcomes);
    expect(results.slice(0, 3).map((o) => o.ok)).toEqual([true, true, true]);
    // Cut mid-exchange: before any response byte ("socket hang up"), never a hang, never a retry.
    expect(results.slice(3).map((o) => !o.ok && o.code)).toEqual(Array(5).fill('ECONNRESET'));
    expect(results.slice(3).every((o) => o.attempts.length === 1)).toBe(true);
    expect(events.find((e) => e.type === 'pool-closed')).toMatchObject({ forced: 5 });
    expect(events.filter((e) => e.type === 'connection-closed' && e.reason === 'pool-closed')).toHaveLength(8);
    expectClosedCleanly(pool, events);
    await waitFor(() => server.sockets.every((s) => s.closed), 'the server to see every connection close');
    expect(await fileDescriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('under chaos (faults throughout, 64 at a time), close() halfway: every request ends, and nothing is left open', async () => {
    const upstream = await startChaosUpstream('http');
    cleanups.push(() => upstream.close());
    const proxy = await FaultProxy.start({
      targetPort: upstream.port,
      seed: 11,
      random: { jitterMs: 3, staleReset: 0.02, resetMidResponse: 0.005, halfCloseAfterResponse: 0.005, idleCloseMs: 10, idleCloseJitterMs: 20 },
    });
    cleanups.push(() => proxy.close());
    const baseline = openFileDescriptors();
    // Connect, acquire and request deadlines far above what a request takes here: the faults end
    // requests, and a loaded machine must not (this test is about close(), not time-outs).
    const { pool, events } = poolWith({ maxConnectionsPerAddress: 32, connectTimeout: '10s', acquireTimeout: '10s', drainTimeout: '2s' });
    const client = nodeHttpClient({ name: 'PooledAgent', origin: proxy.origin, agent: pool.httpAgent(), retryStaleOnce: true });
    const total = 4_000;
    let closing: Promise<void> | undefined;
    let closedAt = 0;
    const lag = EventLoopLag.start();
    cleanups.push(async () => lag.stop());
    const run = await runLoad(client, {
      total,
      concurrency: 64,
      seed: 11,
      timeoutMs: 15_000,
      hangGraceMs: 5_000,
      maxThinkMs: 3,
      failureBackoffMs: 0,
      onProgress: (completed) => {
        if (completed === total / 2) {
          closedAt = Date.now();
          closing = pool.close();
        }
      },
    });
    await closing;
    // Drained within the drain timeout (2 s) of the time this process could run: on a loaded
    // machine the wall clock also counts the time other work had the cores.
    const drainedAt = Date.now();
    expect(drainedAt - closedAt - lag.stalledMsBetween(closedAt, drainedAt)).toBeLessThan(2_000 + 1_000);
    const outcomes = run.records.map((r) => r.outcome);
    expect(outcomes).not.toContain('hung');
    const codes = new Set(outcomes.flatMap((o) => (o !== 'hung' && !o.ok ? [o.code] : [])));
    for (const code of codes) expect(['ERR_POOL_CLOSED', 'ECONNRESET', 'EPIPE', 'ERR_RESPONSE_INCOMPLETE']).toContain(code);
    // Every request that began after close() was refused at once.
    const afterClose = run.records.filter((r) => r.startedAt > closedAt + 5 && r.outcome !== 'hung');
    expect(afterClose.length).toBeGreaterThan(total / 4);
    expect(afterClose.every((r) => r.outcome !== 'hung' && !r.outcome.ok && r.outcome.code === 'ERR_POOL_CLOSED')).toBe(true);
    // Well before the close, requests did succeed through the faults.
    expect(outcomes.slice(0, total / 4).filter((o) => o !== 'hung' && o.ok).length).toBeGreaterThan(total / 8);
    expectClosedCleanly(pool, events);
    await waitFor(() => proxy.openConnections === 0, 'the proxy to see every connection close');
    expect(await fileDescriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });
});
