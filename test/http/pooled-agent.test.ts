import * as http from 'node:http';
import * as https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConnectionPool, PooledAgent } from '../../src/http/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { VirtualClock } from '../pool/support/virtual-time.js';
import { useHttpFixtures } from '../support/http-fixtures.js';
import { get, readBody } from '../support/http-servers.js';
import { LOOPBACK, unusedPort } from '../support/local-servers.js';
import { activeResources, waitFor } from '../support/wait-for.js';

const { poolFor, server, cleanups } = useHttpFixtures();

const ok: http.RequestListener = (req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello ${req.url}`);
};

const closeReasons = (events: PoolEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'connection-closed' ? [event.reason] : []));

describe('PooledAgent', () => {
  it('is a real http.Agent and https.Agent', () => {
    const { pool } = poolFor();
    expect(pool.httpAgent()).toBeInstanceOf(http.Agent);
    expect(pool.httpsAgent()).toBeInstanceOf(https.Agent);
    expect(pool.httpAgent()).toBe(pool.httpAgent());
    expect(new PooledAgent(pool)).toBeInstanceOf(http.Agent);
    expect(() => new PooledAgent(pool, { protocol: 'ftp:' as 'http:' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
  });

  it('reuses one connection across sequential requests, and says so in req.reusedSocket and the events', async () => {
    const upstream = await server(ok);
    const { pool, events } = poolFor();
    const agent = pool.httpAgent();
    const first = await get(`${upstream.origin}/a`, { agent });
    const second = await get(`${upstream.origin}/b`, { agent });
    const third = await get(`${upstream.origin}/c`, { agent });
    expect([first.body, second.body, third.body]).toEqual(['hello /a', 'hello /b', 'hello /c']);
    expect([first.req.reusedSocket, second.req.reusedSocket, third.req.reusedSocket]).toEqual([false, true, true]);
    expect(upstream.sockets).toHaveLength(1);
    expect(events.filter((e) => e.type === 'connection-acquired').map((e) => 'reused' in e && e.reused)).toEqual([false, true, true]);
    expect(pool.connections()).toMatchObject([{ state: 'idle', address: `http://${LOOPBACK}:${upstream.port}` }]);
  });

  it('limits concurrency to maxConnectionsPerAddress, and every request completes', async () => {
    const upstream = await server(ok);
    const { pool } = poolFor({ maxConnectionsPerAddress: 2 });
    const agent = pool.httpAgent();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => get(`${upstream.origin}/${i}`, { agent })));
    expect(results.map((r) => r.body)).toEqual(Array.from({ length: 12 }, (_, i) => `hello /${i}`));
    expect(upstream.sockets.length).toBeLessThanOrEqual(2);
    expect(pool.connectionCount()).toBeLessThanOrEqual(2);
  });

  it('closes idle connections at keep-alive expiry, in virtual time', async () => {
    // keepAliveTimeout 0: the server sends no Keep-Alive hint and never drops idle sockets.
    const upstream = await server(ok, { keepAliveTimeout: 0 });
    const clock = new VirtualClock();
    const { pool, events } = poolFor({ scheduler: clock.scheduler, keepAlive: '30s' });
    await get(`${upstream.origin}/`, { agent: pool.httpAgent() });
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
    clock.advanceBy(29_999);
    expect(pool.connectionCount()).toBe(1);
    clock.advanceBy(1);
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['keep-alive-expired']);
    await waitFor(() => upstream.sockets[0]?.closed === true, 'the server to see the close');
  });

  it('detects a connection the server closed while idle, and serves the next request on a fresh one', async () => {
    const upstream = await server(ok, { keepAliveTimeout: 0 });
    const { pool, events } = poolFor({ keepAlive: '5m' });
    const agent = pool.httpAgent();
    await get(`${upstream.origin}/1`, { agent });
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
    // The server drops the idle socket without a word (as at its own idle timeout).
    upstream.sockets[0]?.destroy();
    await waitFor(() => pool.connectionCount() === 0, 'the pool to notice the close');
    const second = await get(`${upstream.origin}/2`, { agent });
    expect(second.body).toBe('hello /2');
    expect(second.req.reusedSocket).toBe(false);
    expect(upstream.sockets).toHaveLength(2);
    expect(closeReasons(events)).toEqual(['peer-closed']);
  });

  it('checks a reused connection for one turn of the event loop first: one the server has just closed is replaced', async () => {
    const closed = new (await import('node:events')).EventEmitter();
    const upstream = await server((req, res) => {
      res.end(`hello ${req.url}`);
      // As at a server's idle timeout: the close happens on a timer, and the next request is
      // sent as soon as the FIN is out (the socket's 'close': Node closes the descriptor at
      // the end of a turn of the event loop, not in destroy()), before the client can have
      // read it.
      res.once('finish', () =>
        setTimeout(() => {
          req.socket.once('close', () => closed.emit('closed'));
          req.socket.destroy();
        }, 0),
      );
    });
    const { pool, events } = poolFor();
    const agent = pool.httpAgent();
    const serverClosed = once(closed, 'closed');
    await get(`${upstream.origin}/1`, { agent });
    await serverClosed;
    const second = await get(`${upstream.origin}/2`, { agent });
    expect(second.body).toBe('hello /2');
    expect(second.req.reusedSocket).toBe(false);
    expect(upstream.sockets).toHaveLength(2);
    expect(closeReasons(events)).toEqual([expect.stringMatching(/^(no-new-exchanges|peer-closed)$/)]);
  });

  it('refuses an HTTP/2 connection (ERR_UNSUPPORTED_TRANSPORT): it speaks HTTP/1.1 only', async () => {
    const { startHttp2Server } = await import('../support/http2-servers.js');
    const { testCerts } = await import('../support/certs.js');
    const h2 = await startHttp2Server((stream) => stream.end());
    cleanups.push(() => h2.close());
    const { pool } = poolFor();
    const agent = pool.httpsAgent({ tls: { ca: testCerts().ca.cert, ALPNProtocols: ['h2'] } });
    const error = (await get(`${h2.origin}/`, { agent }).catch((caught: unknown) => caught)) as { code?: string; message?: string };
    expect(error.code).toBe('ERR_UNSUPPORTED_TRANSPORT');
    expect(error.message).toContain('use pool.dispatcher() for HTTP/2');
  });

  it('never lets the next request read bytes the server sent to an idle connection', async () => {
    const upstream = await server(ok, { keepAliveTimeout: 0 });
    const { pool, events } = poolFor();
    const agent = pool.httpAgent();
    await get(`${upstream.origin}/1`, { agent });
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
    // A response to nobody: were the socket reused, the next request would read it as its own.
    upstream.sockets[0]?.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale');
    await waitFor(() => pool.connections()[0]?.healthy === false, 'the stray bytes to reach the idle connection');
    const second = await get(`${upstream.origin}/2`, { agent });
    expect(second.body).toBe('hello /2');
    expect(second.req.reusedSocket).toBe(false);
    expect(closeReasons(events)).toEqual(['unhealthy']);
  });

  it("honours the server's Keep-Alive: timeout hint, a safety margin early", async () => {
    const upstream = await server((_req, res) => {
      res.setHeader('keep-alive', 'timeout=5, max=100');
      res.end('hinted');
    });
    const clock = new VirtualClock();
    const { pool, events } = poolFor({ scheduler: clock.scheduler, keepAlive: '5m' });
    await get(`${upstream.origin}/`, { agent: pool.httpAgent() });
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
    clock.advanceBy(3_999);
    expect(pool.connectionCount()).toBe(1);
    clock.advanceBy(1);
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['keep-alive-expired']);
  });

  it('does not pool a connection whose Keep-Alive hint is within the margin', async () => {
    const upstream = await server((_req, res) => {
      res.setHeader('keep-alive', 'timeout=1');
      res.end('short');
    });
    const { pool, events } = poolFor();
    await get(`${upstream.origin}/`, { agent: pool.httpAgent() });
    await waitFor(() => pool.connectionCount() === 0, 'the connection to be closed');
    expect(closeReasons(events)).toHaveLength(1);
  });

  it('closes the connection after Connection: close', async () => {
    const upstream = await server((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    const { pool, events } = poolFor();
    const agent = pool.httpAgent();
    expect((await get(`${upstream.origin}/`, { agent })).body).toBe('bye');
    await waitFor(() => pool.connectionCount() === 0, 'the connection to be closed');
    expect(closeReasons(events)).toEqual(['no-new-exchanges']);
    expect((await get(`${upstream.origin}/`, { agent })).req.reusedSocket).toBe(false);
  });

  it('closes the connection after an HTTP/1.0 response without keep-alive, and after one of unknown length', async () => {
    const raw = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (data) => {
        const http10 = data.toString().startsWith('GET /old');
        socket.end(http10 ? 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold' : 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close');
      });
    });
    raw.listen(0, LOOPBACK);
    await once(raw, 'listening');
    cleanups.push(async () => void raw.close());
    const origin = `http://${LOOPBACK}:${(raw.address() as AddressInfo).port}`;
    const { pool, events } = poolFor();
    const agent = pool.httpAgent();
    expect((await get(`${origin}/old`, { agent })).body).toBe('old');
    expect((await get(`${origin}/unknown-length`, { agent })).body).toBe('until-close');
    await waitFor(() => pool.connectionCount() === 0, 'both connections to be closed');
    expect(closeReasons(events)).toEqual(['no-new-exchanges', 'no-new-exchanges']);
    expect(events.filter((e) => e.type === 'connection-acquired').map((e) => 'reused' in e && e.reused)).toEqual([false, false]);
  });

  it('closes the connection of an aborted request and serves the next one on a new connection', async () => {
    const upstream = await server((_req, res) => {
      res.write('partial');
    });
    const { pool, events } = poolFor();
    const agent = pool.httpAgent();
    await new Promise<void>((resolve) => {
      const req = http.get(`${upstream.origin}/slow`, { agent }, (res) => {
        res.once('data', () => req.destroy());
      });
      req.on('error', () => undefined);
      req.on('close', resolve);
    });
    await waitFor(() => pool.connectionCount() === 0, 'the aborted connection to be closed');
    expect(closeReasons(events)).toHaveLength(1);
    expect(pool.stats().leases).toBe(0);
  });

  it('closes the connection after a socket timeout', async () => {
    const upstream = await server(() => undefined); // never answers
    const { pool } = poolFor();
    const error = await new Promise<Error>((resolve) => {
      const req = http.get(`${upstream.origin}/hang`, { agent: pool.httpAgent(), timeout: 50 });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', resolve);
    });
    expect(error.message).toBe('request timed out');
    await waitFor(() => pool.connectionCount() === 0, 'the timed-out connection to be closed');
    expect(pool.stats().leases).toBe(0);
  });

  it('reports a refused connection on the request, with Node\'s code, leaving nothing in the pool', async () => {
    const port = await unusedPort();
    const { pool } = poolFor();
    const error = (await get(`http://${LOOPBACK}:${port}/`, { agent: pool.httpAgent() }).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(error.code).toBe('ECONNREFUSED');
    expect(pool.connectionCount()).toBe(0);
  });

  it('warns, naming the request, about a response whose body is never read', async () => {
    const upstream = await server((_req, res) => res.end('x'.repeat(100)));
    const clock = new VirtualClock();
    const { pool, events } = poolFor({ scheduler: clock.scheduler, leakDetectionThreshold: '10s' });
    const res = await new Promise<http.IncomingMessage>((resolve) => http.get(`${upstream.origin}/report`, { agent: pool.httpAgent() }, resolve));
    clock.advanceBy(10_000);
    const warning = events.find((e) => e.type === 'lease-held-too-long');
    expect(warning && 'message' in warning && warning.message).toContain('GET http://127.0.0.1');
    expect(warning && 'message' in warning && warning.message).toContain('/report: response 200 received, its body not read to the end');
    res.resume();
    await waitFor(() => pool.stats().leases === 0, 'the lease to be released once the body is read');
  });

  it('leaves no socket open after pool.close()', async () => {
    const upstream = await server(ok);
    const before = activeResources('TCPSocketWrap');
    const pool = new ConnectionPool();
    const agent = pool.httpAgent();
    await Promise.all([1, 2, 3].map((i) => get(`${upstream.origin}/${i}`, { agent })));
    expect(pool.connectionCount()).toBe(3);
    await pool.close();
    await waitFor(() => upstream.sockets.every((s) => s.closed), 'the server to see every socket close');
    expect(activeResources('TCPSocketWrap')).toBeLessThanOrEqual(before);
    expect(pool.connectionCount()).toBe(0);
  });

  it('reads a body streamed in chunks and posts a body', async () => {
    const upstream = await server((req, res) => {
      readBody(req).then((body) => {
        res.write(`got ${body.length} bytes;`);
        setImmediate(() => res.end(' done'));
      });
    });
    const { pool } = poolFor();
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${upstream.origin}/upload`, { method: 'POST', agent: pool.httpAgent() }, (res) => {
        readBody(res).then(resolve, reject);
      });
      req.on('error', reject);
      req.end('z'.repeat(100_000));
    });
    expect(body).toBe('got 100000 bytes; done');
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
  });
});
