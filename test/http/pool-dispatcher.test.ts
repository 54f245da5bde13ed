import { once } from 'node:events';
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { Dispatcher, errors, fetch, getGlobalDispatcher, request, setGlobalDispatcher, upgrade } from 'undici';
import { describe, expect, it } from 'vitest';
import { PoolDispatcher } from '../../src/http/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { VirtualClock } from '../pool/support/virtual-time.js';
import { readBody } from '../support/http-servers.js';
import { LOOPBACK, unusedPort } from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';
import { useHttpFixtures } from '../support/http-fixtures.js';

const { poolFor, server, cleanups } = useHttpFixtures();

const echo: http.RequestListener = (req, res) => {
  readBody(req).then((body) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${req.method} ${req.url} ${body}`);
  });
};

const closeReasons = (events: PoolEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'connection-closed' ? [event.reason] : []));

describe('pool.dispatcher(): an undici Dispatcher over the pool (HTTP/1.1)', () => {
  it('is a real undici Dispatcher, the same one every time, with its options checked', () => {
    const { pool } = poolFor();
    expect(pool.dispatcher()).toBeInstanceOf(Dispatcher);
    expect(pool.dispatcher()).toBe(pool.dispatcher());
    expect(pool.dispatcher({ http2: 'never' })).not.toBe(pool.dispatcher());
    expect(() => pool.dispatcher({ http3: true } as never)).toThrow(/Invalid option "http3": true.*check the spelling/);
    expect(() => pool.dispatcher({ http2: 'maybe' as never })).toThrow(/Invalid option "http2": "maybe"/);
    expect(() => pool.dispatcher({ tls: { ALPNProtocols: ['h2'] } })).toThrow(/Invalid option "tls".*no ALPNProtocols/);
    expect(() => pool.dispatcher({ maxHeaderSize: 0 })).toThrow(/Invalid option "maxHeaderSize": 0/);
    expect(() => pool.dispatcher({ maxResponseSize: -2 })).toThrow(/Invalid option "maxResponseSize": -2/);
    expect(() => pool.dispatcher({ retry: 'yes' as never })).toThrow(/Invalid option "retry"/);
    expect(() => pool.dispatcher({ headersTimeout: '1 minute' as never })).toThrow(/Invalid option "headersTimeout"/);
  });

  it('sends undici.request over one pooled connection, reused request after request', async () => {
    const upstream = await server(echo);
    const { pool, events } = poolFor();
    const dispatcher = pool.dispatcher();
    const bodies: string[] = [];
    for (const path of ['/a', '/b', '/c']) {
      const { statusCode, body } = await request(`${upstream.origin}${path}`, { dispatcher });
      expect(statusCode).toBe(200);
      bodies.push(await body.text());
    }
    expect(bodies).toEqual(['GET /a ', 'GET /b ', 'GET /c ']);
    expect(upstream.sockets).toHaveLength(1);
    expect(events.filter((e) => e.type === 'connection-acquired').map((e) => 'reused' in e && e.reused)).toEqual([false, true, true]);
    await waitFor(() => pool.stats().leases === 0, 'the lease to be released');
    expect(pool.connections()).toMatchObject([{ state: 'idle', allocations: 0, allocationLimit: 1 }]);
    // Its own partition: never shared with the PooledAgent's connections.
    expect(pool.connections()[0]?.address).toMatch(new RegExp(`^http://${LOOPBACK}:${upstream.port}#`));
  });

  it("serves undici's fetch: GET and POST with a body", async () => {
    const upstream = await server(echo);
    const { pool } = poolFor();
    const dispatcher = pool.dispatcher();
    const get = await fetch(`${upstream.origin}/get?x=1`, { dispatcher });
    expect(await get.text()).toBe('GET /get?x=1 ');
    const post = await fetch(`${upstream.origin}/post`, { dispatcher, method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect([post.status, await post.text()]).toEqual([200, 'POST /post hello']);
    expect(upstream.sockets).toHaveLength(1);
  });

  it("drives Node's own global fetch through setGlobalDispatcher (Node 20's fetch is undici 6)", async () => {
    const upstream = await server(echo);
    const { pool, events } = poolFor();
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(pool.dispatcher());
    try {
      const first = await globalThis.fetch(`${upstream.origin}/global`);
      expect(await first.text()).toBe('GET /global ');
      const second = await globalThis.fetch(`${upstream.origin}/again`, { method: 'PUT', body: 'x' });
      expect(await second.text()).toBe('PUT /again x');
    } finally {
      setGlobalDispatcher(previous);
    }
    expect(events.filter((e) => e.type === 'connection-acquired')).toHaveLength(2);
    expect(upstream.sockets).toHaveLength(1);
  });

  it('takes handlers of the newer undici interface (onRequestStart, onResponseStart, ...)', async () => {
    const upstream = await server(echo);
    const { pool } = poolFor();
    const seen: string[] = [];
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      pool.dispatcher().dispatch(
        { origin: upstream.origin, path: '/new', method: 'GET' },
        {
          onRequestStart: () => void seen.push('start'),
          onResponseStart: (_controller, statusCode, headers) => void seen.push(`status ${statusCode} ${String(headers['content-type'])}`),
          onResponseData: (_controller, chunk) => void chunks.push(chunk),
          onResponseEnd: () => resolve(),
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
    expect(seen).toEqual(['start', 'status 200 text/plain']);
    expect(Buffer.concat(chunks).toString()).toBe('GET /new ');
  });

  it('lets a handler of the newer interface pause and resume the body, and abort through its controller', async () => {
    const upstream = await server((req, res) => {
      if (req.url === '/never') return void res.write('head');
      res.end('x'.repeat(200_000));
    });
    const { pool } = poolFor();
    const dispatcher = pool.dispatcher();
    let received = 0;
    let paused = false;
    await new Promise<void>((resolve, reject) => {
      dispatcher.dispatch(
        { origin: upstream.origin, path: '/big', method: 'GET' },
        {
          onRequestStart: () => undefined,
          onResponseData: (controller, chunk) => {
            received += chunk.length;
            if (!paused) {
              paused = true;
              controller.pause();
              setImmediate(() => controller.resume());
            }
          },
          onResponseEnd: () => resolve(),
          onResponseError: (_controller, error) => reject(error),
        },
      );
    });
    expect(received).toBe(200_000);
    const aborted = await new Promise<Error>((resolve) => {
      dispatcher.dispatch(
        { origin: upstream.origin, path: '/never', method: 'GET' },
        {
          onRequestStart: () => undefined,
          onResponseData: (controller) => controller.abort(new Error('enough')),
          onResponseError: (_controller, error) => resolve(error),
        },
      );
    });
    expect(aborted.message).toBe('enough');
  });

  it("works under undici's interceptors (compose): a redirect followed through the pool", async () => {
    const upstream = await server((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' });
        return void res.end();
      }
      res.end(`at ${req.url}`);
    });
    const { pool, events } = poolFor();
    const { interceptors } = await import('undici');
    const dispatcher = pool.dispatcher().compose(interceptors.redirect({ maxRedirections: 2 }));
    const { body } = await request(`${upstream.origin}/old`, { dispatcher });
    expect(await body.text()).toBe('at /new');
    expect(events.filter((e) => e.type === 'connection-acquired')).toHaveLength(2);
  });

  it("honours the server's Keep-Alive: timeout hint a margin early, in the pool's (virtual) time", async () => {
    const upstream = await server((_req, res) => {
      res.setHeader('keep-alive', 'timeout=5, max=100');
      res.end('hinted');
    });
    const clock = new VirtualClock();
    const { pool, events } = poolFor({ scheduler: clock.scheduler, keepAlive: '5m' });
    const { body } = await request(upstream.origin, { dispatcher: pool.dispatcher() });
    expect(await body.text()).toBe('hinted');
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
    clock.advanceBy(3_999);
    expect(pool.connectionCount()).toBe(1);
    clock.advanceBy(1);
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['keep-alive-expired']);
  });

  it("keeps a connection undici would drop: its keep-alive timers and thresholds are the pool's, not undici's", async () => {
    // undici's own Pool gives up a connection whose hint is within 2 s (keepAliveTimeoutThreshold).
    const upstream = await server((_req, res) => {
      res.setHeader('keep-alive', 'timeout=2');
      res.end('short hint');
    });
    const { pool } = poolFor();
    const dispatcher = pool.dispatcher();
    expect(await (await request(upstream.origin, { dispatcher })).body.text()).toBe('short hint');
    await waitFor(() => pool.stats().idle === 1, 'the connection to be pooled');
    expect(await (await request(upstream.origin, { dispatcher })).body.text()).toBe('short hint');
    expect(upstream.sockets).toHaveLength(1);
  });

  it('closes the connection after Connection: close, and after a hint within the margin', async () => {
    let n = 0;
    const upstream = await server((_req, res) => {
      if (n++ === 0) res.setHeader('connection', 'close');
      else res.setHeader('keep-alive', 'timeout=1');
      res.end('bye');
    });
    const { pool, events } = poolFor();
    const dispatcher = pool.dispatcher();
    expect(await (await request(upstream.origin, { dispatcher })).body.text()).toBe('bye');
    expect(await (await request(upstream.origin, { dispatcher })).body.text()).toBe('bye');
    await waitFor(() => pool.connectionCount() === 0, 'both connections to be closed');
    expect(closeReasons(events)).toEqual(['no-new-exchanges', 'no-new-exchanges']);
    expect(upstream.sockets).toHaveLength(2);
  });

  it('does not reuse a connection after an HTTP/1.0 response without keep-alive (undici closes it)', async () => {
    const { createServer } = await import('node:net');
    const raw = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.write('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold'));
    });
    raw.listen(0, LOOPBACK);
    await once(raw, 'listening');
    cleanups.push(async () => void raw.close());
    const origin = `http://${LOOPBACK}:${(raw.address() as import('node:net').AddressInfo).port}`;
    const { pool, events } = poolFor();
    const dispatcher = pool.dispatcher();
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push(await (await request(origin, { dispatcher })).body.text());
    expect(bodies).toEqual(['old', 'old', 'old']);
    await waitFor(() => pool.connectionCount() === 0, 'every connection to be closed');
    expect(events.filter((e) => e.type === 'connection-acquired').map((e) => 'reused' in e && e.reused)).toEqual([false, false, false]);
    expect(events.some((e) => e.type === 'retry')).toBe(false);
  });

  it('streams a response body with backpressure: the server waits while the reader does not read', async () => {
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let blockedAt = -1;
    const upstream = await server((_req, res) => {
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            if (blockedAt < 0) blockedAt = sent;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const { pool } = poolFor();
    const { body } = await request(upstream.origin, { dispatcher: pool.dispatcher(), highWaterMark: 64 * 1024 });
    await waitFor(() => blockedAt > 0, 'the server to be held back');
    expect(blockedAt).toBeLessThan(total / 2);
    let received = 0;
    for await (const part of body) received += (part as Buffer).length;
    expect(received).toBe(total);
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle again');
  });

  it('streams a request body with backpressure: it is read only as fast as the server takes it', async () => {
    const total = 32 * 1024 * 1024;
    let produced = 0;
    let serverReading = false;
    const body = new Readable({
      read() {
        if (produced >= total) {
          this.push(null);
          return;
        }
        produced += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 'y'));
      },
    });
    let startReading: (() => void) | null = null;
    const upstream = await server((req, res) => {
      req.pause();
      startReading = () => {
        serverReading = true;
        let received = 0;
        req.on('data', (part: Buffer) => (received += part.length));
        req.on('end', () => res.end(`got ${received}`));
        req.resume();
      };
    });
    const { pool } = poolFor();
    const response = request(upstream.origin, { dispatcher: pool.dispatcher(), method: 'PUT', body });
    await waitFor(() => startReading !== null, 'the request to reach the server');
    // The server reads nothing: undici pauses the body once the socket's buffers are full.
    await waitFor(() => body.isPaused(), 'the body to be paused');
    expect(serverReading).toBe(false);
    expect(produced).toBeLessThan(total / 2);
    (startReading as unknown as () => void)();
    const { body: answer } = await response;
    expect(await answer.text()).toBe(`got ${total}`);
  });

  it('closes the connection of a request aborted mid-body and serves the next one on a new connection', async () => {
    const upstream = await server((_req, res) => {
      res.write('partial');
    });
    const { pool, events } = poolFor();
    const dispatcher = pool.dispatcher();
    const controller = new AbortController();
    const { body } = await request(`${upstream.origin}/slow`, { dispatcher, signal: controller.signal });
    const firstChunk = once(body, 'data');
    await firstChunk;
    controller.abort();
    await expect(body.text()).rejects.toMatchObject({ name: 'AbortError' });
    await waitFor(() => pool.connectionCount() === 0, 'the aborted connection to be closed');
    expect(closeReasons(events)).toEqual(['no-new-exchanges']);
    expect(pool.stats().leases).toBe(0);
  });

  it('aborts a request still waiting for a connection, and gives the connection it gets later straight back', async () => {
    let finishFirst: (() => void) | null = null;
    const upstream = await server((req, res) => {
      if (req.url !== '/hold') return echo(req, res);
      res.write('first ');
      finishFirst = () => res.end('done');
    });
    const { pool } = poolFor({ maxConnectionsPerAddress: 1 });
    const dispatcher = pool.dispatcher();
    const first = await request(`${upstream.origin}/hold`, { dispatcher });
    const controller = new AbortController();
    const waiting = request(upstream.origin, { dispatcher, signal: controller.signal });
    await waitFor(() => pool.stats().waiters === 1, 'the second request to wait');
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    (finishFirst as unknown as () => void)();
    expect(await first.body.text()).toBe('first done');
    await waitFor(() => pool.stats().leases === 0 && pool.stats().waiters === 0, 'every lease to be back');
    expect(await (await request(upstream.origin, { dispatcher })).body.text()).toBe('GET / ');
  });

  it('reports a refused connection on the request, with its code', async () => {
    const port = await unusedPort();
    const { pool } = poolFor();
    await expect(request(`http://${LOOPBACK}:${port}/`, { dispatcher: pool.dispatcher() })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(fetch(`http://${LOOPBACK}:${port}/`, { dispatcher: pool.dispatcher() })).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    expect(pool.connectionCount()).toBe(0);
  });

  it('refuses origins it cannot serve, on the request', async () => {
    const { pool } = poolFor();
    const dispatcher = pool.dispatcher();
    const errorsSeen: Error[] = [];
    const handler = { onConnect: () => undefined, onHeaders: () => true, onData: () => true, onComplete: () => undefined, onError: (e: Error) => void errorsSeen.push(e) };
    expect(dispatcher.dispatch({ origin: 'ftp://example.test', path: '/', method: 'GET' }, handler)).toBe(false);
    expect(dispatcher.dispatch({ path: '/', method: 'GET' }, handler)).toBe(false);
    expect(errorsSeen.map((e) => e.message)).toEqual([
      'invalid origin protocol "ftp:": the dispatcher serves http: and https: origins',
      'opts.origin must be a non-empty string or URL.',
    ]);
    expect(errorsSeen.every((e) => e instanceof errors.InvalidArgumentError)).toBe(true);
  });

  it('hands an upgraded connection to the caller, and lets it leave the pool once closed', async () => {
    const upstream = await server(echo);
    const serverSockets: import('node:net').Socket[] = [];
    upstream.server.on('upgrade', (_req, socket: import('node:net').Socket) => {
      serverSockets.push(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
      socket.on('data', (data) => socket.write(data));
    });
    cleanups.push(async () => serverSockets.forEach((socket) => socket.destroy()));
    const { pool, events } = poolFor();
    const { socket, headers } = await upgrade(upstream.origin, { dispatcher: pool.dispatcher(), protocol: 'echo' });
    cleanups.push(async () => void socket.destroy());
    expect(headers.upgrade).toBe('echo');
    socket.write('ping');
    const [echoed] = (await once(socket, 'data')) as [Buffer];
    expect(echoed.toString()).toBe('ping');
    expect(pool.connections()).toMatchObject([{ noNewExchanges: true, allocations: 1 }]);
    socket.destroy();
    await waitFor(() => pool.connectionCount() === 0, 'the upgraded connection to leave the pool');
    expect(closeReasons(events)).toEqual(['no-new-exchanges']);
  });
});

describe("the dispatcher's close() and destroy() (undici's semantics; the pool stays open)", () => {
  it('close() refuses new requests and resolves once those in flight have completed', async () => {
    let finish: (() => void) | null = null;
    const upstream = await server((_req, res) => {
      finish = () => res.end('done');
    });
    const { pool } = poolFor();
    const dispatcher = pool.dispatcher({ http2: 'never' });
    const inFlight = request(upstream.origin, { dispatcher });
    await waitFor(() => finish !== null, 'the request to reach the server');
    let closed = false;
    const closing = dispatcher.close().then(() => (closed = true));
    expect(dispatcher.closed).toBe(true);
    await expect(request(upstream.origin, { dispatcher })).rejects.toBeInstanceOf(errors.ClientClosedError);
    expect(closed).toBe(false);
    (finish as unknown as () => void)();
    expect(await (await inFlight).body.text()).toBe('done');
    await closing;
    expect(closed).toBe(true);
    expect(pool.stats().state).toBe('open');
    // Callback form, and again.
    await new Promise<void>((resolve) => dispatcher.close(() => resolve()));
  });

  it('destroy(error) aborts the requests in flight with that error', async () => {
    const upstream = await server(() => undefined); // never answers
    const { pool } = poolFor();
    const dispatcher = pool.dispatcher({ http2: 'never' });
    const inFlight = request(upstream.origin, { dispatcher });
    await waitFor(() => pool.stats().leases === 1, 'the request to hold a connection');
    const reason = new Error('shutting down');
    await dispatcher.destroy(reason);
    await expect(inFlight).rejects.toBe(reason);
    expect(dispatcher.destroyed).toBe(true);
    await expect(request(upstream.origin, { dispatcher })).rejects.toBeInstanceOf(errors.ClientDestroyedError);
    await expect(dispatcher.close()).rejects.toBeInstanceOf(errors.ClientDestroyedError);
    await waitFor(() => pool.stats().leases === 0, 'the lease to be back');
    expect(pool.stats().state).toBe('open');
    await new Promise<void>((resolve) => dispatcher.destroy(() => resolve()));
  });

  it('destroy() with nothing in flight resolves at once', async () => {
    const { pool } = poolFor();
    const dispatcher = new PoolDispatcher(pool);
    await dispatcher.destroy();
    expect(dispatcher.destroyed).toBe(true);
  });
});

describe('leak reports of the dispatcher', () => {
  it('names the request whose response body is never read (lease-held-too-long), without its query', async () => {
    const upstream = await server((_req, res) => res.end('x'.repeat(4 * 1024 * 1024)));
    const clock = new VirtualClock();
    const { pool, events } = poolFor({ scheduler: clock.scheduler, leakDetectionThreshold: '10s' });
    const { body } = await request(`${upstream.origin}/report?token=secret`, { dispatcher: pool.dispatcher() });
    // The body is not read: undici stops reading the socket, and the lease stays held.
    await waitFor(() => pool.stats().leases === 1, 'the lease to be held');
    clock.advanceBy(10_000);
    const warning = events.find((e) => e.type === 'lease-held-too-long');
    expect(warning && 'message' in warning && warning.message).toContain(`GET http://127.0.0.1:${upstream.port}/report: request in flight, or its response body not read to the end`);
    expect(warning && 'message' in warning && warning.message).not.toContain('secret');
    await body.dump();
    await waitFor(() => pool.stats().leases === 0, 'the lease to be released once the body is read');
  });
});
