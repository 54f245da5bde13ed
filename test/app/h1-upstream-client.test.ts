import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/index.js';
import { requestHead } from '../../src/app/upstream/h1/request-head.js';
import { UpstreamError } from '../../src/app/upstream/upstream.errors.js';
import { waitFor } from '../support/wait-for.js';
import { startTestService, stopTestServices, type TestService } from './support/test-service.js';
import { VirtualClock } from './support/virtual-clock.js';

/**
 * The gateway's own HTTP/1.1 client (`Http1UpstreamClient`, the default: UPSTREAM_HTTP2=never)
 * against an upstream that answers each `/<scenario>` with raw bytes: when a connection may
 * serve again, and when it must not.
 */

/** What a scenario answers: the bytes, and whether the upstream then ends the connection. */
interface Scenario {
  readonly answer: string;
  readonly thenEnd?: boolean;
  /** Answer as soon as the head is in, without reading any body. */
  readonly early?: boolean;
}

interface RawUpstream {
  readonly url: string;
  /** Request heads received, with the connection each came on (1-based). */
  readonly received: Array<{ readonly connection: number; readonly head: string }>;
  /** Body bytes received, by connection. */
  readonly bodyBytes: Map<number, number>;
  close(): Promise<void>;
}

const upstreams: RawUpstream[] = [];

afterEach(async () => {
  await stopTestServices();
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

/**
 * A raw upstream: `/<name>` gets `scenarios[name]`, anything else a 200 naming its target and
 * connection. Request bodies (Content-Length or chunked) are read and counted, not parsed
 * further: the scenarios that matter here send none, or are answered `early`.
 */
async function startRawUpstream(scenarios: Readonly<Record<string, Scenario>>): Promise<RawUpstream> {
  const received: Array<{ connection: number; head: string }> = [];
  const bodyBytes = new Map<number, number>();
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    const connection = ++accepted;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    let inHead = true;
    socket.on('data', (chunk: Buffer) => {
      if (!inHead) {
        bodyBytes.set(connection, (bodyBytes.get(connection) ?? 0) + chunk.length);
        return;
      }
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const rest = buffer.subarray(end + 4);
      buffer = Buffer.alloc(0);
      received.push({ connection, head });
      const target = head.split(' ', 2)[1] ?? '/';
      const scenario = scenarios[target.slice(1)];
      if (scenario === undefined) {
        const body = JSON.stringify({ target, connection });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        return;
      }
      if (scenario.early) {
        inHead = false;
        bodyBytes.set(connection, rest.length);
      }
      socket.write(Buffer.from(scenario.answer, 'latin1'));
      if (scenario.thenEnd) socket.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const upstream: RawUpstream = {
    url: `http://127.0.0.1:${port}`,
    received,
    bodyBytes,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  upstreams.push(upstream);
  return upstream;
}

async function gatewayFor(upstream: RawUpstream, env: Record<string, string> = {}, clock?: VirtualClock): Promise<{ service: TestService; events: PoolEvent[] }> {
  const service = await startTestService({ UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT: '30s', ...env }, clock === undefined ? {} : { scheduler: clock.scheduler });
  const events: PoolEvent[] = [];
  service.pool.events$.subscribe((event) => events.push(event));
  return { service, events };
}

function acquiredIds(events: readonly PoolEvent[]): string[] {
  return events.filter((e) => e.type === 'connection-acquired').map((e) => e.connectionId as string);
}

async function closedSoon(events: readonly PoolEvent[], id: string): Promise<void> {
  await waitFor(() => events.some((e) => e.type === 'connection-closed' && e.connectionId === id), `connection ${id} to be closed`);
}

describe('when an upstream connection may serve again', () => {
  it('after Connection: close, HTTP/1.0 without keep-alive, or a body delimited by the close: never, and the answer is forwarded whole', async () => {
    const upstream = await startRawUpstream({
      close: { answer: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose' },
      'http-1-0': { answer: 'HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n1.0!' },
      'until-close': { answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the end', thenEnd: true },
    });
    const { service, events } = await gatewayFor(upstream);
    for (const [scenario, body] of [
      ['close', 'close'],
      ['http-1-0', '1.0!'],
      ['until-close', 'read until the end'],
    ] as const) {
      const from = events.length;
      const response = await service.fetch(`/proxy/${scenario}`);
      expect([scenario, response.status, response.text]).toEqual([scenario, 200, body]);
      const [used] = acquiredIds(events.slice(from));
      await closedSoon(events, used as string);
    }
    const next = await service.fetch('/proxy/next');
    expect(next.json()).toEqual({ target: '/next', connection: 4 });
  });

  it('after a chunked answer with trailers, a 100 Continue, a HEAD, a 204 and a 304: yes, each on the one connection', async () => {
    const upstream = await startRawUpstream({
      chunked: { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n' },
      continue: { answer: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok' },
      head: { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n' },
      'no-content': { answer: 'HTTP/1.1 204 No Content\r\n\r\n' },
      'not-modified': { answer: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n' },
    });
    const { service } = await gatewayFor(upstream);
    const chunked = await service.fetch('/proxy/chunked');
    expect([chunked.status, chunked.text, chunked.headers['x-trailer']]).toEqual([200, 'hello world', undefined]);
    expect((await service.fetch('/proxy/continue')).status).toBe(201);
    const head = await service.fetch('/proxy/head', { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '10', 0]);
    expect((await service.fetch('/proxy/no-content')).status).toBe(204);
    const notModified = await service.fetch('/proxy/not-modified');
    expect([notModified.status, notModified.headers.etag]).toEqual([304, '"x"']);
    // Every answer above left the connection exactly at the next answer's start.
    expect((await service.fetch('/proxy/last')).json()).toEqual({ target: '/last', connection: 1 });
    expect(upstream.received.map((r) => r.connection)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("honours the upstream's Keep-Alive: timeout, a second early: timeout=1 is not reused, timeout=5 is", async () => {
    const upstream = await startRawUpstream({
      short: { answer: 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok' },
      long: { answer: 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok' },
    });
    const { service, events } = await gatewayFor(upstream);
    const from = events.length;
    expect((await service.fetch('/proxy/short')).status).toBe(200);
    await closedSoon(events, acquiredIds(events.slice(from))[0] as string);
    expect((await service.fetch('/proxy/long')).status).toBe(200);
    expect((await service.fetch('/proxy/after')).json()).toEqual({ target: '/after', connection: 2 });
  });

  it('after an answer that came before the request body was written whole: never; the client gets the answer, the next request its own', async () => {
    const upstream = await startRawUpstream({
      'too-large': { answer: 'HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n\r\ntoo much', early: true },
    });
    const { service, events } = await gatewayFor(upstream);
    const from = events.length;
    // Large enough that it cannot all be in the socket buffers when the answer comes.
    const body = Buffer.alloc(32 * 1024 * 1024, 'b');
    const response = await service.fetch('/proxy/too-large', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect([response.status, response.text]).toEqual([413, 'too much']);
    const [used] = acquiredIds(events.slice(from));
    await closedSoon(events, used as string);
    expect(upstream.bodyBytes.get(1) ?? 0).toBeLessThan(body.length);
    expect((await service.fetch('/proxy/next')).json()).toEqual({ target: '/next', connection: 2 });
  });

  it('after a long idle time (virtual), checked again a turn of the event loop later: reused while the upstream kept it', async () => {
    const upstream = await startRawUpstream({});
    const clock = new VirtualClock();
    const { service } = await gatewayFor(upstream, { POOL_KEEP_ALIVE: '5m' }, clock);
    expect((await service.fetch('/proxy/first')).json()).toEqual({ target: '/first', connection: 1 });
    clock.advanceBy(60_000);
    expect((await service.fetch('/proxy/later')).json()).toEqual({ target: '/later', connection: 1 });
  });

  it('that the upstream closed while it sat idle: not written to, the request goes on a new connection', async () => {
    const upstream = await startRawUpstream({
      'then-close': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', thenEnd: true },
    });
    const { service, events } = await gatewayFor(upstream);
    const from = events.length;
    expect((await service.fetch('/proxy/then-close')).text).toBe('ok');
    // The FIN came after the answer: the pool finds the connection closed and drops it.
    await closedSoon(events, acquiredIds(events.slice(from))[0] as string);
    expect((await service.fetch('/proxy/next')).json()).toEqual({ target: '/next', connection: 2 });
  });
});

describe('the request head the client writes', () => {
  it('is the request line, the upstream Host, then one line per field value', () => {
    expect(requestHead('GET', '/a?b=c', 'api.internal:8080', { accept: 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': 0 })).toBe(
      'GET /a?b=c HTTP/1.1\r\nhost: api.internal:8080\r\naccept: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 0\r\n\r\n',
    );
  });

  it.each([
    ['a value with CR LF', 'GET', '/', { 'x-a': 'a\r\nX-Injected: 1' }, 'the value of its x-a header field'],
    ['a value with NUL', 'GET', '/', { 'x-a': 'a\u0000b' }, 'the value of its x-a header field'],
    ['a value with DEL', 'GET', '/', { 'x-a': 'a\u007fb' }, 'the value of its x-a header field'],
    ['a name that is not a token', 'GET', '/', { 'x a': 'b' }, 'a header field name is not a token'],
    ['a method that is not a token', 'GET /x HTTP/1.1\r\n', '/', {}, 'its method is not a token'],
    ['a target with a space', 'GET', '/a b', {}, 'its target holds whitespace or control characters'],
    ['a target with a line break', 'GET', '/a\r\nX: y', {}, 'its target holds whitespace or control characters'],
  ])('refuses %s (502, naming the field, never its value)', (_what, method, target, headers, phrase) => {
    let thrown: unknown;
    try {
      requestHead(method, target, 'h', headers);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ status: 502, code: 'UPSTREAM_PROTOCOL_ERROR' });
    expect((thrown as Error).message).toContain(phrase);
    expect((thrown as Error).message).not.toContain('Injected');
  });
});
