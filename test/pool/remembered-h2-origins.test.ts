import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { ConnectionPoolOptions, PoolEvent } from '../../src/pool/index.js';
import { testCerts } from '../support/certs.js';
import { startHttp2Server, type Http2StreamHandler, type Http2TestServer } from '../support/http2-servers.js';
import { waitFor } from '../support/wait-for.js';

// Remembered HTTP/2 origins with real TLS HTTP/2 servers on loopback, through pool.dispatcher():
// once the pool has seen an origin speak HTTP/2, a burst to it after its last session closed
// (keep-alive expiry, GOAWAY, eviction) opens what the stream limit needs, not one session per
// request. The bounded wait is tested in virtual time (test/pool/multiplexed-origins.test.ts):
// here it is off, so that a connect slowed down by a loaded machine cannot change the counts.

const certs = testCerts();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function poolFor(options: ConnectionPoolOptions = {}) {
  const pool = new ConnectionPool({ drainTimeout: '1s', maxIdleConnections: 50, ...options, multiplexedOrigins: { maxWait: Infinity, ...options.multiplexedOrigins } });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  cleanups.push(() => pool.close());
  return { pool, events, dispatcher: pool.dispatcher({ tls: { ca: certs.ca.cert } }) };
}

/** A server that holds every response until the test lets them go. */
function holding(): { handler: Http2StreamHandler; release: () => void; held: () => number } {
  const waiting: Array<() => void> = [];
  const handler: Http2StreamHandler = (stream, headers) => {
    stream.resume();
    waiting.push(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${String(headers[':path'])}`);
    });
  };
  return { handler, release: () => waiting.splice(0).forEach((answer) => answer()), held: () => waiting.length };
}

async function server(handler: Http2StreamHandler, options?: Parameters<typeof startHttp2Server>[1]): Promise<Http2TestServer> {
  const started = await startHttp2Server(handler, options);
  cleanups.push(() => started.close());
  return started;
}

async function get(url: string, dispatcher: ReturnType<typeof poolFor>['dispatcher']): Promise<string> {
  const response = await request(url, { dispatcher });
  return response.body.text();
}

/** First contact: one request, then its session closed, as keep-alive expiry would. */
async function learn(target: Http2TestServer, { pool, dispatcher }: ReturnType<typeof poolFor>, { release }: ReturnType<typeof holding>): Promise<void> {
  const first = get(`${target.origin}/first`, dispatcher);
  await waitFor(() => target.streams.length > 0, 'the first stream to reach the server');
  release();
  expect(await first).toBe('h2 /first');
  await waitFor(() => pool.stats().leases === 0, 'the first lease to come back');
  expect(pool.evictAll()).toBe(1);
  expect(pool.connectionCount()).toBe(0);
}

describe('remembered HTTP/2 origins, through pool.dispatcher() to real HTTP/2 servers', () => {
  it('a burst of 20 requests to an origin whose last session closed opens one session', async () => {
    const h2 = holding();
    const target = await server(h2.handler);
    const pool = poolFor();
    await learn(target, pool, h2);
    const bodies = Array.from({ length: 20 }, (_, i) => get(`${target.origin}/${i}`, pool.dispatcher));
    await waitFor(() => h2.held() === 20, 'the 20 streams to reach the server');
    expect(target.sessions).toHaveLength(2); // the first contact's, and one for the burst
    expect(new Set(target.streams.slice(1).map((stream) => stream.session))).toEqual(new Set([1]));
    h2.release();
    expect(await Promise.all(bodies)).toEqual(Array.from({ length: 20 }, (_, i) => `h2 /${i}`));
    expect(pool.events.filter((e) => e.type === 'connect-start')).toHaveLength(2);
  });

  it('six requests to a remembered origin with SETTINGS_MAX_CONCURRENT_STREAMS 2 open three sessions', async () => {
    const h2 = holding();
    const target = await server(h2.handler, { settings: { maxConcurrentStreams: 2 } });
    const pool = poolFor();
    await learn(target, pool, h2);
    const bodies = Array.from({ length: 6 }, (_, i) => get(`${target.origin}/${i}`, pool.dispatcher));
    await waitFor(() => h2.held() === 6, 'the six streams to reach the server');
    expect(target.sessions).toHaveLength(1 + 3);
    expect(target.maxConcurrentPerSession.slice(1)).toEqual([2, 2, 2]);
    h2.release();
    expect(await Promise.all(bodies)).toEqual(Array.from({ length: 6 }, (_, i) => `h2 /${i}`));
  });

  it('first contact is as before: a burst to a new origin opens a session per request, then they coalesce', async () => {
    const h2 = holding();
    const target = await server(h2.handler);
    const { pool, events, dispatcher } = poolFor();
    const bodies = Array.from({ length: 5 }, (_, i) => get(`${target.origin}/${i}`, dispatcher));
    await waitFor(() => h2.held() === 5, 'the five streams to reach the server');
    expect(events.filter((e) => e.type === 'connect-start')).toHaveLength(5);
    h2.release();
    expect(await Promise.all(bodies)).toHaveLength(5);
    await waitFor(() => pool.connectionCount() === 1, 'the extra sessions to close (coalesced)');
  });

  it('remembers at most multiplexedOrigins.max origins: the one seen least recently bursts as on first contact', async () => {
    const h2 = holding();
    const [a, b, c] = [await server(h2.handler), await server(h2.handler), await server(h2.handler)] as Http2TestServer[];
    const pool = poolFor({ multiplexedOrigins: { max: 2 } });
    for (const target of [a, b, c] as Http2TestServer[]) await learn(target, pool, h2);
    const toC = Array.from({ length: 4 }, (_, i) => get(`${c?.origin}/${i}`, pool.dispatcher));
    const toA = Array.from({ length: 4 }, (_, i) => get(`${a?.origin}/${i}`, pool.dispatcher));
    await waitFor(() => h2.held() === 8, 'the eight streams to reach the servers');
    expect(c?.sessions).toHaveLength(1 + 1); // remembered: one session for the burst
    expect(a?.sessions.length).toBeGreaterThan(1 + 1); // forgotten: a session per request (as many as reached it before the first answered)
    h2.release();
    expect(await Promise.all([...toC, ...toA])).toHaveLength(8);
  });
});
