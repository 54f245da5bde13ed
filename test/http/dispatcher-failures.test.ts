import { once } from 'node:events';
import http2 from 'node:http2';
import { asyncScheduler } from 'rxjs';
import { errors, request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { sendOverHttp2 } from '../../src/http/h2-request.js';
import type { LegacyHandler } from '../../src/http/legacy-handler.js';
import { classifyFailure } from '../../src/http/retry-policy.js';
import { AddressResolver, type Transport } from '../../src/pool/index.js';
import { Http2SessionTransport, NetConnector } from '../../src/transport/index.js';
import { testCerts } from '../support/certs.js';
import { startHttpServer } from '../support/http-servers.js';
import { startHttp2Server, type Http2StreamHandler } from '../support/http2-servers.js';
import { LOOPBACK } from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';

const certs = testCerts();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function track<T extends { close(): Promise<void> }>(thing: T): T {
  cleanups.push(() => thing.close());
  return thing;
}

/** A legacy handler that records what it is told and settles a promise at the end. */
function recorder(overrides: Partial<LegacyHandler> = {}) {
  const seen: string[] = [];
  let body = '';
  let settle!: (outcome: { error?: Error; body: string }) => void;
  const done = new Promise<{ error?: Error; body: string }>((resolve) => (settle = resolve));
  const handler: LegacyHandler = {
    onConnect: () => void seen.push('connect'),
    onHeaders: (status) => {
      seen.push(`headers ${status}`);
      return true;
    },
    onData: (chunk) => {
      body += chunk.toString();
      return true;
    },
    onComplete: () => settle({ body }),
    onError: (error) => settle({ error, body }),
    ...overrides,
  };
  return { handler: handler as Dispatcher.DispatchHandler & LegacyHandler, seen, done };
}

const echoH2: Http2StreamHandler = (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200 });
    stream.end(`${String(headers[':path'])} ${String(headers['content-type'] ?? '-')} ${Buffer.concat(chunks).toString()}`);
  });
};

describe('the dispatcher reports every failure on the request', () => {
  it('throws for a handler that is not an object, and for a failure with no onError to tell', async () => {
    const pool = track(new ConnectionPool());
    const dispatcher = pool.dispatcher();
    expect(() => dispatcher.dispatch({ origin: 'http://a.test', path: '/', method: 'GET' }, null as never)).toThrow(errors.InvalidArgumentError);
    expect(() => dispatcher.dispatch({ path: '/', method: 'GET' } as never, { onHeaders: () => true })).toThrow(/opts.origin must be/);
  });

  it('reports a transport it cannot speak over (a custom connector): ERR_UNSUPPORTED_TRANSPORT', async () => {
    const transport: Transport = { close: () => undefined };
    const pool = track(new ConnectionPool({ connector: { connect: () => Promise.resolve(transport) } }));
    await expect(request('http://a.test/', { dispatcher: pool.dispatcher() })).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_TRANSPORT',
      message: expect.stringContaining('neither a socket (SocketTransport) nor an HTTP/2 session'),
    });
    await waitFor(() => pool.stats().leases === 0, 'the lease to be back');
  });

  it("tells the handler whose onConnect throws, through onError, and sends nothing", async () => {
    const upstream = track(await startHttpServer((_req, res) => res.end('no')));
    const pool = track(new ConnectionPool());
    const { handler, done } = recorder({
      onConnect: () => {
        throw new Error('refusing to start');
      },
    });
    pool.dispatcher().dispatch({ origin: upstream.origin, path: '/', method: 'GET' }, handler);
    expect((await done).error?.message).toBe('refusing to start');
    expect(upstream.sockets).toHaveLength(0);
  });

  it('tells a handler whose onComplete throws through onError, and keeps the connection', async () => {
    const upstream = track(await startHttpServer((_req, res) => res.end('fine')));
    const pool = track(new ConnectionPool());
    const errorsSeen: Error[] = [];
    const { handler } = recorder({
      onComplete: () => {
        throw new Error('handler bug');
      },
      onError: (error) => void errorsSeen.push(error),
    });
    pool.dispatcher().dispatch({ origin: upstream.origin, path: '/', method: 'GET' }, handler);
    await waitFor(() => errorsSeen.length === 1, 'onError');
    expect(errorsSeen[0]?.message).toBe('handler bug');
    await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
  });

  it('reports a request the server answers with a broken response (HTTP/1.1), and does not retry it', async () => {
    const { createServer } = await import('node:net');
    const raw = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    });
    raw.listen(0, LOOPBACK);
    await once(raw, 'listening');
    cleanups.push(async () => void raw.close());
    const pool = track(new ConnectionPool());
    const events: string[] = [];
    pool.events$.subscribe((event) => events.push(event.type));
    const { body } = await request(`http://${LOOPBACK}:${(raw.address() as import('node:net').AddressInfo).port}/`, { dispatcher: pool.dispatcher() });
    await expect(body.text()).rejects.toBeInstanceOf(Error);
    expect(events).not.toContain('retry');
    await waitFor(() => pool.connectionCount() === 0, 'the broken connection to be closed');
  });
});

describe('HTTP/2 requests: bodies, paths and failures', () => {
  async function h2(handler: Http2StreamHandler = echoH2) {
    const server = await startHttp2Server(handler);
    cleanups.push(() => server.close());
    const pool = track(new ConnectionPool({ drainTimeout: '1s' }));
    return { server, pool, dispatcher: pool.dispatcher({ tls: { ca: certs.ca.cert } }) };
  }

  it('sends FormData (as multipart, with its boundary), a Blob, an async iterable and a query', async () => {
    const { server, dispatcher } = await h2();
    const form = new FormData();
    form.append('field', 'value');
    const multipart = await (await request(`${server.origin}/form`, { dispatcher, method: 'POST', body: form as never })).body.text();
    expect(multipart).toMatch(/^\/form multipart\/form-data; boundary=.+ .*name="field"\r\n\r\nvalue/s);
    const blob = await (await request(`${server.origin}/blob`, { dispatcher, method: 'PUT', body: new Blob(['blob body']) as never })).body.text();
    expect(blob).toBe('/blob - blob body');
    const iterable = (async function* () {
      yield 'it';
      yield Buffer.from('er');
    })();
    expect(await (await request(`${server.origin}/iter`, { dispatcher, method: 'PUT', body: iterable as never })).body.text()).toBe('/iter - iter');
    expect(await (await request(`${server.origin}/q`, { dispatcher, query: { a: '1', b: ['2', '3'] } })).body.text()).toBe('/q?a=1&b=2&b=3 - ');
  });

  it('rejects a bad path, a query on a path with one, and a body it cannot send', async () => {
    const { server, dispatcher } = await h2();
    await request(`${server.origin}/`, { dispatcher }).then((r) => r.body.text()); // the session
    const origin = server.origin;
    const dispatch = (options: Record<string, unknown>): Promise<Error | undefined> => {
      const { handler, done } = recorder();
      dispatcher.dispatch({ origin, method: 'GET', path: '/', ...options } as never, handler);
      return done.then((outcome) => outcome.error);
    };
    expect((await dispatch({ path: 'relative' }))?.message).toBe('path must be an absolute URL or start with a slash');
    expect((await dispatch({ path: '/a?b=1', query: { c: 2 } }))?.message).toContain('Query params cannot be passed');
    expect((await dispatch({ method: 'PUT', body: 42 }))?.message).toContain('body must be a string, a Buffer');
    // A header undici would not send is the request's fault, refused before any stream: not sent again.
    const events: string[] = [];
    (dispatcher as unknown as { pool: ConnectionPool }).pool.events$.subscribe((event) => events.push(event.type));
    expect(await dispatch({ headers: { 'bad header': 'x' } })).toMatchObject({ code: 'UND_ERR_INVALID_ARG', message: 'invalid header key' });
    expect(events).toEqual([]);
  });

  it('a handler that throws while reading headers has its stream cancelled; the session lives on', async () => {
    const { server, pool, dispatcher } = await h2();
    const { handler, done } = recorder({
      onHeaders: () => {
        throw new Error('cannot take these headers');
      },
    });
    dispatcher.dispatch({ origin: server.origin, path: '/x', method: 'GET' }, handler);
    expect((await done).error?.message).toBe('cannot take these headers');
    await waitFor(() => pool.stats().leases === 0, 'the lease to be back');
    expect(await (await request(`${server.origin}/after`, { dispatcher })).body.text()).toBe('/after - ');
    expect(server.sessions).toHaveLength(1);
  });

  it('reports a session that dies after the response began, and does not retry it', async () => {
    const { server, pool, dispatcher } = await h2((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('part', () => stream.session?.destroy());
    });
    const events: string[] = [];
    pool.events$.subscribe((event) => events.push(event.type));
    const { body } = await request(`${server.origin}/dying`, { dispatcher });
    await expect(body.text()).rejects.toMatchObject({ code: 'UND_ERR_INFO', message: expect.stringContaining('before the response was complete') });
    expect(events).not.toContain('retry');
  });

  it('a stream the session can no longer open is marked unprocessed (it goes again)', async () => {
    const server = await startHttp2Server(echoH2);
    cleanups.push(() => server.close());
    const address = new AddressResolver().resolve({ host: LOOPBACK, port: server.port, protocol: 'https:', tls: { ca: certs.ca.cert, ALPNProtocols: ['h2'] } });
    const transport = (await new NetConnector().connect(address, { signal: new AbortController().signal })) as Http2SessionTransport;
    transport.session.close();
    const { handler, done } = recorder();
    sendOverHttp2(transport, { method: 'GET', path: '/' }, handler, { headersTimeout: 0, bodyTimeout: 0 });
    const { error } = await done;
    expect(classifyFailure(error)).toEqual({ reason: 'connection-closed', unprocessed: true });
    transport.close();
  });

  it('a stream that never got an id (its session went before it was sent) is marked unprocessed', async () => {
    const server = await startHttp2Server(echoH2);
    cleanups.push(() => server.close());
    const address = new AddressResolver().resolve({ host: LOOPBACK, port: server.port, protocol: 'https:', tls: { ca: certs.ca.cert, ALPNProtocols: ['h2'] } });
    // A session still connecting queues the stream without an id; destroying it fails the
    // stream before any frame of it was written.
    const session = http2.connect(`https://${LOOPBACK}:${server.port}`, { ca: certs.ca.cert });
    const settings = { maxConcurrentStreams: 100, pingIntervalMs: Infinity, pingTimeoutMs: 1_000, initialWindowSize: 65_535, connectionWindowSize: 65_535 };
    const transport = new Http2SessionTransport(session, address, settings, { scheduler: asyncScheduler });
    const { handler, done } = recorder();
    sendOverHttp2(transport, { method: 'POST', path: '/' }, handler, { headersTimeout: 0, bodyTimeout: 0 });
    session.destroy();
    const { error } = await done;
    expect(classifyFailure(error)).toEqual({ reason: 'connection-closed', unprocessed: true });
    transport.close();
  });

  it('posts over HTTP/2 from a Readable body and reads a request body on the server end to end', async () => {
    const { server, dispatcher } = await h2();
    const { Readable } = await import('node:stream');
    const response = await request(`${server.origin}/stream`, { dispatcher, method: 'POST', body: Readable.from(['a', 'b', 'c']) });
    expect(await response.body.text()).toBe('/stream - abc');
  });
});
