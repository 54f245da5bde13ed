import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { testCerts } from '../support/certs.js';
import { LOOPBACK } from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue 12, item 2: a connection on which a request body went out without framing is never
 * reused. Node sends a GET, DELETE, OPTIONS (and HEAD, TRACE, CONNECT) request without
 * Content-Length or Transfer-Encoding unless the caller sets one, with whatever body the
 * caller writes: bytes the server reads as the start of the next request on that connection.
 * Seen from outside, by a server that records the bytes of each connection and reads requests
 * from them as any HTTP/1.1 server does.
 */

/** One connection as the recording server saw it. */
interface RecordedConnection {
  readonly socket: net.Socket;
  /** Every byte received, in order. */
  bytes: string;
  /** The request lines of the requests read from those bytes, in order. */
  readonly requests: string[];
}

interface RecordingServer {
  readonly port: number;
  readonly connections: RecordedConnection[];
  close(): Promise<void>;
}

/**
 * A raw HTTP/1.1 server: reads a request head, then its body by its Content-Length or chunked
 * framing (none without either, as RFC 9112 6.3 has it for a request), answers with
 * the request line, and reads the next request from what follows.
 */
async function startRecordingServer(options: { tls?: boolean } = {}): Promise<RecordingServer> {
  const connections: RecordedConnection[] = [];
  const onConnection = (socket: net.Socket): void => {
    socket.on('error', () => undefined);
    const connection: RecordedConnection = { socket, bytes: '', requests: [] };
    connections.push(connection);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      connection.bytes += chunk.toString('latin1');
      pending += chunk.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = pending.slice(0, end);
        let bodyEnd = end + 4 + Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
          const last = pending.indexOf('\r\n0\r\n\r\n', end);
          if (last === -1) return;
          bodyEnd = last + 7;
        }
        if (pending.length < bodyEnd) return;
        pending = pending.slice(bodyEnd);
        const line = head.split('\r\n', 1)[0] ?? '';
        connection.requests.push(line);
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(line)}\r\nConnection: keep-alive\r\n\r\n${line}`);
      }
    });
  };
  const certs = testCerts();
  const server = options.tls ? tls.createServer({ cert: certs.server.cert, key: certs.server.key }, onConnection) : net.createServer(onConnection);
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    async close() {
      for (const { socket } of connections) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A request with `agent`, a body written as the caller writes it, and its response read. */
function send(agent: http.Agent, options: https.RequestOptions, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = (agent as http.Agent & { protocol?: string }).protocol === 'https:' ? https : http;
    const req = client.request({ host: LOOPBACK, agent, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function setUp(secure: boolean): Promise<{ upstream: RecordingServer; agent: http.Agent; pool: ConnectionPool }> {
  const upstream = await startRecordingServer({ tls: secure });
  cleanups.push(() => upstream.close());
  const pool = new ConnectionPool({ drainTimeout: '1s' });
  cleanups.push(() => pool.close());
  const agent = secure ? pool.httpsAgent({ tls: { ca: testCerts().ca.cert } }) : pool.httpAgent();
  return { upstream, agent, pool };
}

describe('a connection that carried a body without framing is never reused (PooledAgent)', () => {
  for (const secure of [false, true]) {
    const cases: Array<[string, string, Record<string, string>]> = [
      ['GET', 'no Content-Length', {}],
      ['DELETE', 'no Content-Length', {}],
      ['OPTIONS', 'no Content-Length', {}],
      ['POST', 'a Transfer-Encoding that is not chunked', { 'transfer-encoding': 'gzip' }],
    ];
    for (const [method, framing, headers] of cases) {
      it(`${method} with a body and ${framing}${secure ? ' (TLS)' : ''}: the next request goes on a new connection, and no body byte is read as a request`, async () => {
        const { upstream, agent, pool } = await setUp(secure);
        const smuggled = 'GET /admin HTTP/1.1\r\nHost: victim\r\nX-Ignore: ';
        const first = await send(agent, { port: upstream.port, method, path: '/first', headers }, smuggled);
        const second = await send(agent, { port: upstream.port, method: 'GET', path: '/second' });
        expect([first, second]).toEqual([`${method} /first HTTP/1.1`, 'GET /second HTTP/1.1']);
        expect(upstream.connections).toHaveLength(2);
        // The first connection carried the request and its body, and nothing after it: it was
        // closed rather than reused, so the body bytes never became a request.
        const [carrier, fresh] = upstream.connections as [RecordedConnection, RecordedConnection];
        expect(carrier.bytes.endsWith(`\r\n\r\n${smuggled}`)).toBe(true);
        await waitFor(() => carrier.socket.closed, 'the first connection to be closed');
        expect(carrier.requests).toEqual([`${method} /first HTTP/1.1`]);
        expect(fresh.requests).toEqual(['GET /second HTTP/1.1']);
        expect(pool.connections()).toHaveLength(1);
      });
    }
  }

  it('a body longer than the Content-Length the caller set: the answer to its extra bytes reaches nobody', async () => {
    const { upstream, agent } = await setUp(false);
    const first = await send(agent, { port: upstream.port, method: 'POST', path: '/first', headers: { 'content-length': '2' } }, 'abGET /admin HTTP/1.1\r\n\r\n');
    const second = await send(agent, { port: upstream.port, method: 'GET', path: '/second' });
    // The server read the caller's extra bytes as a request of its own on that connection (the
    // caller sent them); its answer stays there, and the next request is not sent after it.
    expect([first, second]).toEqual(['POST /first HTTP/1.1', 'GET /second HTTP/1.1']);
    expect(upstream.connections.map((connection) => connection.requests)).toEqual([['POST /first HTTP/1.1', 'GET /admin HTTP/1.1'], ['GET /second HTTP/1.1']]);
    await waitFor(() => (upstream.connections[0] as RecordedConnection).socket.closed, 'the first connection to be closed');
  });

  it('framed bodies keep their connection: Content-Length set, chunked, or none at all', async () => {
    const { upstream, agent } = await setUp(false);
    await send(agent, { port: upstream.port, method: 'GET', path: '/length', headers: { 'content-length': '5' } }, 'hello');
    await send(agent, { port: upstream.port, method: 'POST', path: '/chunked' }, 'streamed');
    await send(agent, { port: upstream.port, method: 'DELETE', path: '/none' });
    await send(agent, { port: upstream.port, method: 'GET', path: '/last' });
    expect(upstream.connections.map((connection) => connection.requests)).toEqual([['GET /length HTTP/1.1', 'POST /chunked HTTP/1.1', 'DELETE /none HTTP/1.1', 'GET /last HTTP/1.1']]);
  });
});
