import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as undiciRequest } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { CONNECTION_DURATION_BUCKETS, INSTRUMENT_NAMES, instrumentConnectionPool, TIME_IN_QUEUE_BUCKETS } from '../../src/opentelemetry/index.js';
import { testCerts } from '../support/certs.js';
import { get, startHttpServer } from '../support/http-servers.js';
import { startHttp2Server } from '../support/http2-servers.js';
import { LOOPBACK } from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';
import { InMemoryMetrics, type Collected } from './support/in-memory-metrics.js';

const certs = testCerts();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

const POOL = 'reactive_connection_pool.pool.name';
const { openConnections, connectionDuration, timeInQueue } = INSTRUMENT_NAMES;

function instrumentedPool(): { pool: ConnectionPool; metrics: InMemoryMetrics } {
  const pool = new ConnectionPool({ drainTimeout: '1s' });
  const metrics = new InMemoryMetrics();
  const instrumentation = instrumentConnectionPool(pool, { meterProvider: metrics.meterProvider });
  cleanups.push(async () => {
    instrumentation.dispose();
    await pool.close();
    await metrics.shutdown();
  });
  return { pool, metrics };
}

/** An HTTP/1.1 server that holds each response until the test lets it go. */
async function holdingServer(tls = false) {
  const held: ServerResponse[] = [];
  const server = await startHttpServer(
    (_req: IncomingMessage, res: ServerResponse) => {
      held.push(res);
    },
    tls ? { tls: { cert: certs.server.cert, key: certs.server.key } } : {},
  );
  cleanups.push(() => server.close());
  const answerAll = (): void => {
    for (const res of held.splice(0)) res.end('ok');
  };
  return { server, held, answerAll };
}

/** The collection agrees with stats() and connections() taken at the same moment. */
function expectAgreement(collected: Collected, pool: ConnectionPool): void {
  const stats = pool.stats();
  expect(collected.total(openConnections, { 'http.connection.state': 'idle' })).toBe(stats.idle);
  expect(collected.total(openConnections, { 'http.connection.state': 'active' })).toBe(stats.inUse);
  expect(collected.total(INSTRUMENT_NAMES.connectionCount, { 'reactive_connection_pool.connection.state': 'idle' })).toBe(stats.idle);
  expect(collected.total(INSTRUMENT_NAMES.connectionCount, { 'reactive_connection_pool.connection.state': 'in_use' })).toBe(stats.inUse);
  expect(collected.total(INSTRUMENT_NAMES.connectionCount, { 'reactive_connection_pool.connection.state': 'connecting' })).toBe(stats.connecting);
  expect(collected.total(INSTRUMENT_NAMES.leaseCount)).toBe(stats.leases);
  expect(collected.total(INSTRUMENT_NAMES.connectAttempts)).toBe(stats.totals.connects);
  expect(collected.total(INSTRUMENT_NAMES.evictions)).toBe(stats.totals.closed);
}

describe('OpenTelemetry instruments over real HTTP connections', () => {
  it('PooledAgent, HTTP/1.1: open connections by state, time in queue, and one duration per closed connection', async () => {
    const { pool, metrics } = instrumentedPool();
    const { server, held, answerAll } = await holdingServer();
    const agent = pool.httpAgent();
    const server_ = { 'server.address': LOOPBACK, 'server.port': server.port, 'url.scheme': 'http', 'network.protocol.version': '1.1', [POOL]: 'default' };

    // Two requests at once: two connections, both active while the server holds them.
    const inFlight = [get(`${server.origin}/a`, { agent }), get(`${server.origin}/b`, { agent })];
    await waitFor(() => held.length === 2, 'both requests to reach the server');
    let collected = await metrics.collect();
    expect(collected.sumPoints(openConnections)).toEqual(
      expect.arrayContaining([
        { attributes: { ...server_, 'http.connection.state': 'active' }, value: 2 },
        { attributes: { ...server_, 'http.connection.state': 'idle' }, value: 0 },
      ]),
    );
    expectAgreement(collected, pool);

    answerAll();
    await Promise.all(inFlight);
    await waitFor(() => pool.stats().idle === 2, 'both connections back in the pool');
    // A third request reuses one at once: not queued, so no time_in_queue for it.
    const third = get(`${server.origin}/c`, { agent });
    await waitFor(() => held.length === 1, 'the third request');
    answerAll();
    await third;
    await waitFor(() => pool.stats().idle === 2, 'the connection back in the pool');

    collected = await metrics.collect();
    const open = collected.metric(openConnections);
    expect(open.descriptor).toMatchObject({ name: 'http.client.open_connections', unit: '{connection}' });
    expect(open).toMatchObject({ isMonotonic: false });
    expect(collected.total(openConnections, { ...server_, 'http.connection.state': 'idle' })).toBe(2);
    expect(collected.total(openConnections, { 'http.connection.state': 'active' })).toBe(0);
    expectAgreement(collected, pool);

    // The two acquirers that waited for a connect, each with the server's attributes.
    const [queued] = collected.histogramPoints(timeInQueue);
    expect(collected.metric(timeInQueue).descriptor.unit).toBe('s');
    expect(queued?.attributes).toEqual(server_);
    expect(queued?.value.count).toBe(2);
    expect(queued?.value.buckets.boundaries).toEqual(TIME_IN_QUEUE_BUCKETS);
    expect(collected.histogramCount(connectionDuration)).toBe(0);

    expect(pool.evictAll()).toBe(2);
    collected = await metrics.collect();
    expect(collected.total(openConnections)).toBe(0);
    expectAgreement(collected, pool);
    const [durations] = collected.histogramPoints(connectionDuration);
    expect(collected.metric(connectionDuration).descriptor.unit).toBe('s');
    expect(durations?.attributes).toEqual(server_);
    expect(durations?.value.count).toBe(2);
    expect(durations?.value.buckets.boundaries).toEqual(CONNECTION_DURATION_BUCKETS);
    expect(collected.total(INSTRUMENT_NAMES.evictions, { 'reactive_connection_pool.close.reason': 'evict-all' })).toBe(2);
  });

  it('dispatcher, HTTP/1.1 over TLS: https connections counted as HTTP/1.1', async () => {
    const { pool, metrics } = instrumentedPool();
    const { server, held, answerAll } = await holdingServer(true);
    const dispatcher = pool.dispatcher({ tls: { ca: certs.ca.cert } });

    const response = undiciRequest(`${server.origin}/x`, { dispatcher });
    await waitFor(() => held.length === 1, 'the request to reach the server');
    let collected = await metrics.collect();
    const server_ = { 'server.address': LOOPBACK, 'server.port': server.port, 'url.scheme': 'https', 'network.protocol.version': '1.1' };
    expect(collected.total(openConnections, { ...server_, 'http.connection.state': 'active' })).toBe(1);
    expectAgreement(collected, pool);

    answerAll();
    await (await response).body.text();
    await waitFor(() => pool.stats().idle === 1, 'the connection back in the pool');
    collected = await metrics.collect();
    expect(collected.total(openConnections, { ...server_, 'http.connection.state': 'idle' })).toBe(1);
    expect(collected.histogramCount(timeInQueue, server_)).toBe(1);
    expectAgreement(collected, pool);

    pool.evictAll();
    collected = await metrics.collect();
    expect(collected.total(openConnections)).toBe(0);
    expect(collected.histogramCount(connectionDuration, server_)).toBe(1);
    expectAgreement(collected, pool);
  });

  it('dispatcher, HTTP/2: one session carrying several streams is one active connection of version 2', async () => {
    const { pool, metrics } = instrumentedPool();
    const held: Array<() => void> = [];
    const server = await startHttp2Server((stream) => {
      stream.resume();
      held.push(() => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 200 });
        stream.end('h2');
      });
    });
    cleanups.push(() => server.close());
    const dispatcher = pool.dispatcher({ tls: { ca: certs.ca.cert } });
    const server_ = { 'server.address': LOOPBACK, 'server.port': server.port, 'url.scheme': 'https', 'network.protocol.version': '2' };

    // A first request makes the session; then three streams share it.
    const first = undiciRequest(`${server.origin}/first`, { dispatcher });
    await waitFor(() => held.length === 1, 'the first stream');
    held.shift()?.();
    await (await first).body.text();
    const responses = [1, 2, 3].map((i) => undiciRequest(`${server.origin}/${i}`, { dispatcher }));
    await waitFor(() => held.length === 3, 'three streams at the server');
    expect(server.sessions).toHaveLength(1);

    let collected = await metrics.collect();
    expect(collected.total(openConnections, { ...server_, 'http.connection.state': 'active' })).toBe(1);
    expect(collected.total(openConnections, { 'http.connection.state': 'idle' })).toBe(0);
    expect(collected.total(INSTRUMENT_NAMES.leaseCount)).toBe(3);
    expectAgreement(collected, pool);

    for (const answer of held.splice(0)) answer();
    for (const response of responses) await (await response).body.text();
    await waitFor(() => pool.stats().idle === 1, 'the session idle again');
    collected = await metrics.collect();
    expect(collected.total(openConnections, { ...server_, 'http.connection.state': 'idle' })).toBe(1);
    // Only the first request waited (for the connect); the streams found room at once.
    expect(collected.histogramCount(timeInQueue, server_)).toBe(1);
    expectAgreement(collected, pool);

    expect(pool.evictAll()).toBe(1);
    collected = await metrics.collect();
    expect(collected.total(openConnections)).toBe(0);
    expect(collected.histogramCount(connectionDuration, server_)).toBe(1);
    expectAgreement(collected, pool);
  });

  it('counts a refused connect under its server and error code', async () => {
    const { pool, metrics } = instrumentedPool();
    const closed = await startHttpServer(() => undefined);
    const port = closed.port;
    await closed.close();

    await expect(get(`http://${LOOPBACK}:${port}/`, { agent: pool.httpAgent() })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const collected = await metrics.collect();
    const server_ = { 'server.address': LOOPBACK, 'server.port': port, 'url.scheme': 'http' };
    expect(collected.sumPoints(INSTRUMENT_NAMES.connectFailures)).toEqual([{ attributes: { ...server_, [POOL]: 'default', 'error.type': 'ECONNREFUSED' }, value: 1 }]);
    expect(collected.total(INSTRUMENT_NAMES.connectAttempts, server_)).toBe(1);
    expect(collected.total(INSTRUMENT_NAMES.connectFailures)).toBe(pool.stats().totals.connectFailures);
    expect(collected.total(openConnections)).toBe(0);
  });
});
