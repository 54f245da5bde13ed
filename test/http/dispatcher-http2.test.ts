import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import { errors, fetch, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool, type PoolDispatcherOptions } from '../../src/http/index.js';
import type { ConnectionPoolOptions, PoolEvent, RetryEvent } from '../../src/pool/index.js';
import { testCerts } from '../support/certs.js';
import { DEGRADED_PING_TIMEOUT_MS } from '../../src/transport/index.js';
import { startHttp2Server, startStallingRelay, type Http2StreamHandler, type Http2TestServer } from '../support/http2-servers.js';
import { LOOPBACK } from '../support/local-servers.js';
import { VirtualClock } from '../pool/support/virtual-time.js';
import { waitFor } from '../support/wait-for.js';

const certs = testCerts();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function poolFor(options: ConnectionPoolOptions = {}, dispatcherOptions: PoolDispatcherOptions = {}) {
  const pool = new ConnectionPool({ drainTimeout: '1s', ...options });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  cleanups.push(() => pool.close());
  const dispatcher = pool.dispatcher({ tls: { ca: certs.ca.cert }, ...dispatcherOptions });
  return { pool, events, dispatcher };
}

async function h2Server(handler: Http2StreamHandler, options?: Parameters<typeof startHttp2Server>[1]): Promise<Http2TestServer> {
  const server = await startHttp2Server(handler, options);
  cleanups.push(() => server.close());
  return server;
}

/** Answers each stream with `h2 <method> <path> <request body>`. */
const echo: Http2StreamHandler = (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
    stream.end(`h2 ${String(headers[':method'])} ${String(headers[':path'])} ${Buffer.concat(chunks).toString()}`);
  });
};

/** One request the server holds: sends it, lets the server answer it, and returns the body. */
async function warmUp(origin: string, dispatcher: ReturnType<typeof poolFor>['dispatcher'], held: Array<(body?: string) => void>): Promise<string> {
  const response = text(request(`${origin}/warm`, { dispatcher }));
  await waitFor(() => held.length === 1, 'the warm-up stream to reach the server');
  held.shift()?.();
  return response;
}

/** A server that holds every response until the test says so. */
function holding(): { handler: Http2StreamHandler; held: Array<(body?: string) => void> } {
  const held: Array<(body?: string) => void> = [];
  const handler: Http2StreamHandler = (stream, headers) => {
    stream.resume();
    held.push((body = `h2 ${String(headers[':path'])}`) => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end(body);
    });
  };
  return { handler, held };
}

const retries = (events: PoolEvent[]): RetryEvent[] => events.filter((event): event is RetryEvent => event.type === 'retry');
const closeReasons = (events: PoolEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'connection-closed' ? [event.reason] : []));

async function text(response: Promise<{ body: { text(): Promise<string> } }>): Promise<string> {
  return (await response).body.text();
}

describe('the dispatcher over HTTP/2', () => {
  it('serves undici.request and fetch over one session: GET, POST with a body, headers both ways', async () => {
    const server = await h2Server(echo);
    const { pool, dispatcher } = poolFor();
    const got = await request(`${server.origin}/a?x=1`, { dispatcher, headers: { 'x-one': ['1', '2'] } });
    expect(got.statusCode).toBe(200);
    expect(got.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(await got.body.text()).toBe('h2 GET /a?x=1 ');
    expect(await text(request(`${server.origin}/p`, { dispatcher, method: 'POST', body: 'payload' }))).toBe('h2 POST /p payload');
    const fetched = await fetch(`${server.origin}/f`, { dispatcher, method: 'POST', body: 'from fetch' });
    expect([fetched.status, await fetched.text()]).toEqual([200, 'h2 POST /f from fetch']);
    expect(server.sessions).toHaveLength(1);
    expect(server.streams.map((stream) => stream.session)).toEqual([0, 0, 0]);
    expect(pool.connections()).toMatchObject([{ allocationLimit: 100 }]);
  });

  it('N concurrent requests share one session (once the pool knows the origin is HTTP/2)', async () => {
    const server = await h2Server(echo);
    const { pool, events, dispatcher } = poolFor();
    expect(await text(request(`${server.origin}/first`, { dispatcher }))).toBe('h2 GET /first ');
    const bodies = await Promise.all(Array.from({ length: 20 }, (_, i) => text(request(`${server.origin}/${i}`, { dispatcher }))));
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `h2 GET /${i} `));
    expect(server.sessions).toHaveLength(1);
    expect(pool.connectionCount()).toBe(1);
    const shared = events.filter((event) => event.type === 'connection-acquired').map((event) => ('allocations' in event ? event.allocations : 0));
    expect(Math.max(...shared)).toBeGreaterThan(1);
  });

  it('concurrent first requests to a new origin end up on one session: the extra ones close (coalesced)', async () => {
    const server = await h2Server(echo);
    const { pool, events, dispatcher } = poolFor();
    const bodies = await Promise.all(Array.from({ length: 8 }, (_, i) => text(request(`${server.origin}/${i}`, { dispatcher }))));
    expect(bodies).toHaveLength(8);
    expect(new Set(server.streams.map((stream) => stream.session)).size).toBe(1);
    await waitFor(() => pool.connectionCount() === 1, 'the extra sessions to close');
    expect(closeReasons(events)).toEqual(Array.from({ length: 7 }, () => 'coalesced'));
  });

  it('with MAX_CONCURRENT_STREAMS 2, a third request opens a second session; the next goes to the least loaded', async () => {
    const { handler, held } = holding();
    const server = await h2Server(handler, { settings: { maxConcurrentStreams: 2 } });
    const { pool, dispatcher } = poolFor();
    expect(await warmUp(server.origin, dispatcher, held)).toBe('h2 /warm');
    await waitFor(() => pool.stats().leases === 0, 'the warm-up lease to be back');
    const first = [1, 2, 3].map((i) => text(request(`${server.origin}/${i}`, { dispatcher })));
    await waitFor(() => held.length === 3, 'three streams to reach the server');
    expect(server.sessions).toHaveLength(2);
    expect(pool.connections().map((info) => [info.allocations, info.allocationLimit])).toEqual([
      [2, 2],
      [1, 2],
    ]);
    const fourth = text(request(`${server.origin}/4`, { dispatcher }));
    await waitFor(() => held.length === 4, 'the fourth stream to reach the server');
    expect(server.streams.at(-1)?.session).toBe(1);
    expect(server.maxConcurrentPerSession.every((n) => n <= 2)).toBe(true);
    for (const answer of held.splice(0)) answer();
    expect(await Promise.all([...first, fourth])).toEqual(['h2 /1', 'h2 /2', 'h2 /3', 'h2 /4']);
  });

  it('obeys the peer lowering its limit, and shares again when it raises it', async () => {
    const { handler, held } = holding();
    const server = await h2Server(handler);
    const { pool, dispatcher } = poolFor({ maxConnectionsPerAddress: 1 });
    const warm = text(request(`${server.origin}/warm`, { dispatcher }));
    await waitFor(() => held.length === 1, 'the first stream');
    held.shift()?.();
    await warm;
    server.sessions[0]?.settings({ maxConcurrentStreams: 1 });
    await waitFor(() => pool.connections()[0]?.allocationLimit === 1, 'the lower limit to arrive');
    const requests = [1, 2, 3].map((i) => text(request(`${server.origin}/${i}`, { dispatcher })));
    await waitFor(() => held.length === 1 && pool.stats().waiters === 2, 'one stream in flight, two waiting');
    expect(server.maxConcurrentPerSession[0]).toBe(1);
    server.sessions[0]?.settings({ maxConcurrentStreams: 10 });
    await waitFor(() => held.length === 3, 'the waiters to share the session at once');
    expect(pool.stats().waiters).toBe(0);
    for (const answer of held.splice(0)) answer();
    expect(await Promise.all(requests)).toEqual(['h2 /1', 'h2 /2', 'h2 /3']);
    expect(server.sessions).toHaveLength(1);
  });

  it('loses no request to a GOAWAY mid-traffic: accepted streams finish, refused ones go again on a new session', async () => {
    const { handler, held } = holding();
    const server = await h2Server(handler);
    const { pool, events, dispatcher } = poolFor();
    expect(await warmUp(server.origin, dispatcher, held)).toBe('h2 /warm');
    const paths = Array.from({ length: 10 }, (_, i) => `/r${i}`);
    const responses = paths.map((path, i) =>
      text(request(`${server.origin}${path}`, { dispatcher, method: i % 2 === 0 ? 'GET' : 'POST', body: i % 2 === 0 ? undefined : `body ${i}` })),
    );
    await waitFor(() => held.length === 10, 'ten streams to reach the server');
    // The server takes the first five of them (streams 3..11) and refuses the rest.
    const accepted = server.streams.filter((stream) => stream.session === 0).slice(1, 6);
    server.sessions[0]?.goaway(http2.constants.NGHTTP2_NO_ERROR, accepted.at(-1)?.id ?? 0);
    await waitFor(() => server.sessions.length === 2 && held.length === 15, 'the refused five to arrive on a new session');
    for (const answer of held.splice(0)) answer();
    expect(await Promise.all(responses)).toEqual(paths.map((path) => `h2 ${path}`));
    expect(retries(events)).toHaveLength(5);
    expect(new Set(retries(events).map((event) => event.reason))).toEqual(new Set(['stream-refused']));
    expect(retries(events).map((event) => event.method).sort()).toEqual(expect.arrayContaining(['GET', 'POST']));
    await waitFor(() => pool.connectionCount() === 1, 'the old session to leave the pool');
    expect(closeReasons(events)).toEqual(['no-new-exchanges']);
  });

  it('sends again a POST whose stream the server refused (REFUSED_STREAM: certainly not processed)', async () => {
    let refused = false;
    const server = await h2Server((stream, headers, session) => {
      if (!refused && headers[':path'] === '/refuse') {
        refused = true;
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      echo(stream, headers, session);
    });
    const { events, dispatcher } = poolFor();
    expect(await text(request(`${server.origin}/refuse`, { dispatcher, method: 'POST', body: 'once' }))).toBe('h2 POST /refuse once');
    expect(retries(events).map((event) => [event.method, event.reason])).toEqual([['POST', 'stream-refused']]);
  });

  it('streams a response with backpressure over HTTP/2: the server is held back while nobody reads', async () => {
    const total = 16 * 1024 * 1024;
    let blocked = false;
    const server = await h2Server((stream) => {
      stream.respond({ ':status': 200 });
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 'z');
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!stream.write(chunk)) {
            blocked = true;
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
    const { dispatcher } = poolFor();
    const { body } = await request(`${server.origin}/big`, { dispatcher });
    await waitFor(() => blocked, 'the server to be held back by flow control');
    let received = 0;
    for await (const part of body) received += (part as Buffer).length;
    expect(received).toBe(total);
  });

  it('streams a request body with backpressure over HTTP/2: it is read only as fast as the server takes it', async () => {
    const total = 16 * 1024 * 1024;
    let produced = 0;
    const body = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        produced += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 'u'));
      },
    });
    let startReading: (() => void) | null = null;
    const server = await h2Server((stream) => {
      stream.pause();
      startReading = () => {
        let received = 0;
        stream.on('data', (chunk: Buffer) => (received += chunk.length));
        stream.on('end', () => {
          stream.respond({ ':status': 200 });
          stream.end(`got ${received}`);
        });
        stream.resume();
      };
    });
    const { dispatcher } = poolFor();
    const response = request(`${server.origin}/upload`, { dispatcher, method: 'PUT', body });
    await waitFor(() => startReading !== null && produced > 0, 'the upload to start');
    // Flow control stops the upload well short of its end while the server reads nothing.
    await waitFor(async () => {
      const before = produced;
      await new Promise((resolve) => setImmediate(resolve));
      return produced === before;
    }, 'the upload to stall');
    expect(produced).toBeLessThan(total / 2);
    (startReading as unknown as () => void)();
    expect(await (await response).body.text()).toBe(`got ${total}`);
  });

  it('an aborted request cancels its stream; the session lives on for the next request', async () => {
    const server = await h2Server((stream, headers) => {
      stream.respond({ ':status': 200 });
      if (headers[':path'] === '/slow') stream.write('partial');
      else stream.end('fast');
    });
    const { pool, dispatcher, events } = poolFor();
    const controller = new AbortController();
    const { body } = await request(`${server.origin}/slow`, { dispatcher, signal: controller.signal });
    let pings = 0;
    server.sessions[0]?.on('ping', () => pings++);
    controller.abort();
    await expect(body.text()).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => pool.stats().leases === 0, 'the lease to be back');
    // A stream given up on makes the session check its peer at once (the regular PING is 30 s away).
    await waitFor(() => pings === 1, 'the session to PING its peer');
    expect(await text(request(`${server.origin}/fast`, { dispatcher }))).toBe('fast');
    expect(server.sessions).toHaveLength(1);
    expect(closeReasons(events)).toEqual([]);
  });

  it('times out waiting for headers (headersTimeout) without harming the session', async () => {
    const server = await h2Server((stream, headers) => {
      if (headers[':path'] === '/hang') return;
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    const { dispatcher } = poolFor({}, { headersTimeout: 100 });
    let pings = 0;
    server.server.on('session', (session: http2.ServerHttp2Session) => session.on('ping', () => pings++));
    await expect(request(`${server.origin}/hang`, { dispatcher })).rejects.toBeInstanceOf(errors.HeadersTimeoutError);
    await waitFor(() => pings === 1, 'the session to PING its peer after the timeout');
    expect(await text(request(`${server.origin}/ok`, { dispatcher }))).toBe('ok');
    expect(server.sessions).toHaveLength(1);
  });

  it('drops a session gone silent a second after the first request given up on it, not at its next regular PING', async () => {
    const server = await h2Server(echo);
    const relay = await startStallingRelay(server.port);
    cleanups.push(() => relay.close());
    const clock = new VirtualClock();
    const { pool, dispatcher, events } = poolFor({ scheduler: clock.scheduler });
    const origin = `https://${LOOPBACK}:${relay.port}`;
    expect(await text(request(`${origin}/first`, { dispatcher }))).toBe('h2 GET /first ');
    relay.stall(); // the path goes silent: no RST, no FIN, nothing
    const controller = new AbortController();
    const stuck = request(`${origin}/stuck`, { dispatcher, signal: controller.signal });
    await waitFor(() => pool.stats().leases === 1, 'the request to be on the session');
    controller.abort();
    await expect(stuck).rejects.toMatchObject({ name: 'AbortError' });
    expect(pool.connections()).toMatchObject([{ healthy: true }]);
    clock.advanceBy(DEGRADED_PING_TIMEOUT_MS - 1);
    expect(pool.connections()).toMatchObject([{ healthy: true }]);
    clock.advanceBy(1); // the PING sent at the abort went unanswered
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['unhealthy']);
  });
});

describe('HTTP/1.1 or HTTP/2 for https: origins (the http2 option)', () => {
  const http1: Parameters<typeof startHttp2Server>[1] = {
    allowHTTP1: true,
    onHttp1: (req, res) => res.end(`http/${req.httpVersion}`),
  };

  it("'auto' takes what the server chooses; 'never' asks for HTTP/1.1 only", async () => {
    const server = await h2Server((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('http/2.0');
    }, http1);
    const auto = poolFor();
    expect(await text(request(server.origin, { dispatcher: auto.dispatcher }))).toBe('http/2.0');
    const never = poolFor({}, { http2: 'never' });
    expect(await text(request(server.origin, { dispatcher: never.dispatcher }))).toBe('http/1.1');
  });

  it("'auto' speaks HTTP/1.1 to a server that does not offer HTTP/2; 'always' fails to connect to it", async () => {
    const { startHttpServer } = await import('../support/http-servers.js');
    const tlsOnly = await startHttpServer((req, res) => res.end(`http/${req.httpVersion}`), { tls: { cert: certs.server.cert, key: certs.server.key } });
    cleanups.push(() => tlsOnly.close());
    const auto = poolFor();
    expect(await text(request(tlsOnly.origin, { dispatcher: auto.dispatcher }))).toBe('http/1.1');
    const always = poolFor({}, { http2: 'always' });
    // Node's https server answers an ALPN offer it cannot meet with a TLS alert; a server
    // that ignores ALPN gets ERR_HTTP2_NOT_NEGOTIATED (see the transport tests).
    const error = (await request(tlsOnly.origin, { dispatcher: always.dispatcher }).catch((caught: unknown) => caught)) as Error & { code?: string };
    expect(error.code).toBe('ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL');
    expect(error.message).toContain('The server speaks none of the protocols offered by ALPN');
  });
});
