import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { FormData, request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttp2Server, type Http2StreamHandler } from '../support/http2-servers.js';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { LOOPBACK, unusedPort } from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';
import { describeError, dispatcherFactory, onBothSides, type Side } from './support/peers.js';

/**
 * The pool's dispatcher against undici's own Agent, behaviour by behaviour (issue 18, items
 * 1-6): each test runs the same scenario on both and expects the same outcome, so that a
 * difference shows as a failure, and pins down what that outcome is.
 */

const dispatchers = dispatcherFactory();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await dispatchers.closeAll();
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function httpServer(handler: http.RequestListener): Promise<HttpTestServer> {
  const server = await startHttpServer(handler);
  cleanups.push(() => server.close());
  return server;
}

/** Dispatches with a legacy handler and settles with what it was told. */
function dispatchRecorded(dispatcher: Dispatcher, options: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<{ status?: number; body: string; error?: Error; trailers?: unknown }> {
  return new Promise((resolve) => {
    const outcome: { status?: number; body: string; error?: Error; trailers?: unknown } = { body: '' };
    const handler = {
      onConnect: () => undefined,
      onHeaders: (status: number) => {
        outcome.status = status;
        return true;
      },
      onData: (chunk: Buffer) => {
        outcome.body += chunk.toString();
        return true;
      },
      onComplete: (trailers: unknown) => resolve({ ...outcome, trailers }),
      onError: (error: Error) => resolve({ ...outcome, error }),
      ...overrides,
    };
    try {
      dispatcher.dispatch({ method: 'GET', path: '/', ...options } as Dispatcher.DispatchOptions, handler as unknown as Dispatcher.DispatchHandler);
    } catch (error) {
      resolve({ ...outcome, error: error as Error });
    }
  });
}

describe('invalid requests are refused before any connection (item 1)', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>?]> = [
    ['expectContinue that is not a boolean', { expectContinue: 'yes' }],
    ['reset that is not a boolean', { reset: 1 }],
    ['maxRedirections (undici 7 wants the redirect interceptor)', { maxRedirections: 2 }],
    ['a Connection header that is not a list of tokens', { headers: { connection: 'keep-alive, not a token' } }],
    ['CR/LF in a header value', { headers: { 'x-a': 'a\r\nInjected: 1' } }],
    ['CR/LF in the path', { path: '/a\r\nInjected: 1' }],
    ['a method that is not a token', { method: 'GET /evil' }],
    ['a header name that is not a token', { headers: { 'bad name': 'x' } }],
    ['a Transfer-Encoding header', { headers: { 'transfer-encoding': 'chunked' } }],
    ['an Expect header', { headers: { expect: '100-continue' } }],
    ['two Host headers', { headers: ['host', 'a.test', 'host', 'b.test'] }],
    ['a Content-Length that is not a number', { headers: { 'content-length': '1x' } }],
    ['a handler without onHeaders', {}, { onHeaders: undefined }],
    ['a body of a type nobody can send', { method: 'POST', body: 42 }],
  ];

  it.each(cases)('%s: InvalidArgumentError at once, no connection opened, against a live server and a dead port', async (_what, options, handler) => {
    const upstream = await httpServer((_req, res) => res.end('should not be reached'));
    const deadPort = await unusedPort();
    const outcomes = await onBothSides(async (side) => {
      const dispatcher = dispatchers.make(side);
      const live = await dispatchRecorded(dispatcher, { origin: upstream.origin, ...options }, handler);
      const dead = await dispatchRecorded(dispatcher, { origin: `http://${LOOPBACK}:${deadPort}`, ...options }, handler);
      return { live: describeError(live.error), dead: describeError(dead.error), connections: upstream.sockets.length };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer.live.name).toMatch(/^(InvalidArgumentError|NotSupportedError)$/);
    expect(outcomes.peer.dead).toEqual(outcomes.peer.live);
    expect(outcomes.peer.connections).toBe(0);
  });
});

describe('the request is copied at dispatch (item 2)', () => {
  it('headers changed after dispatch() are not what is sent, though the request waited for a connection', async () => {
    let release: () => void = () => undefined;
    let holding = false;
    const seen: string[] = [];
    const upstream = await httpServer((req, res) => {
      if (req.url === '/hold') {
        holding = true;
        release = () => res.end('held');
        return;
      }
      seen.push(`${String(req.headers['x-h'])} ${String(req.headers['x-new'])}`);
      res.end('ok');
    });
    const outcomes = await onBothSides(async (side) => {
      seen.length = 0;
      holding = false;
      const dispatcher = dispatchers.make(side, { connections: 1 });
      const first = request(`${upstream.origin}/hold`, { dispatcher });
      await waitFor(() => holding, 'the first request to hold the only connection');
      const headers: Record<string, string> = { 'x-h': 'at dispatch' };
      const second = request(`${upstream.origin}/echo`, { dispatcher, headers });
      headers['x-h'] = 'changed later';
      headers['x-new'] = 'added later';
      release();
      await (await first).body.text();
      await (await second).body.text();
      return [...seen];
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual(['at dispatch undefined']);
  });
});

describe('a connect that completed while the event loop was blocked is not timed out (item 3)', () => {
  it('the timer fires late, after the stall, and the connect is looked at once more first', async () => {
    const upstream = await httpServer((_req, res) => res.end('connected'));
    const outcomes = await onBothSides(async (side) => {
      const dispatcher = dispatchers.make(side, { connectTimeoutMs: 50 });
      // Block the event loop just after the socket's connect(2) was issued (Node issues it on
      // the next tick of Socket#connect): the handshake completes in the kernel meanwhile, and
      // the 50 ms timer is overdue when the loop wakes.
      const connect = net.Socket.prototype.connect;
      net.Socket.prototype.connect = function connectThenStall(this: net.Socket, ...args: unknown[]) {
        net.Socket.prototype.connect = connect;
        const result = (connect as (...a: unknown[]) => net.Socket).apply(this, args);
        process.nextTick(() => {
          const until = Date.now() + 300;
          while (Date.now() < until) {
            // the stall
          }
        });
        return result;
      } as typeof connect;
      try {
        const response = await request(upstream.origin, { dispatcher });
        return { status: response.statusCode, body: await response.body.text() };
      } catch (error) {
        return describeError(error);
      } finally {
        net.Socket.prototype.connect = connect;
      }
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ status: 200, body: 'connected' });
  });
});

describe('port 0 (item 4)', () => {
  it('is tried and fails as the operating system says (ECONNREFUSED), not as an invalid address', async () => {
    const outcomes = await onBothSides(async (side) => {
      const error = await request(`http://${LOOPBACK}:0/`, { dispatcher: dispatchers.make(side) }).then(
        () => null,
        (e: unknown) => e,
      );
      const { name, code } = describeError(error);
      return { name, code, isError: error instanceof Error };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ name: 'Error', code: 'ECONNREFUSED', isError: true });
  });
});

describe('HTTP/2 requests as undici sends them (item 5)', () => {
  const echo: Http2StreamHandler = (stream, headers) => {
    // The stream API leaves 100 Continue to the application.
    if (headers.expect === '100-continue') stream.additionalHeaders({ ':status': 100 });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      const body = Buffer.concat(chunks);
      stream.end(JSON.stringify({ headers, length: body.length, body: body.toString() }));
    });
  };

  async function h2Echo(): Promise<string> {
    const server = await startHttp2Server(echo);
    cleanups.push(() => server.close());
    return server.origin;
  }

  type Echoed = { headers: Record<string, string>; length: number; body: string };

  it('an ArrayBuffer body is sent, with its length', async () => {
    const origin = await h2Echo();
    const outcomes = await onBothSides(async (side) => {
      const bytes = new TextEncoder().encode('array buffer').buffer;
      const response = await request(`${origin}/ab`, { dispatcher: dispatchers.make(side, { h2: true }), method: 'POST', body: bytes as never });
      const echoed = (await response.body.json()) as Echoed;
      return { length: echoed.headers['content-length'], body: echoed.body };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ length: '12', body: 'array buffer' });
  });

  it('FormData goes as multipart with its content-length', async () => {
    const origin = await h2Echo();
    const outcomes = await onBothSides(async (side) => {
      const form = new FormData();
      form.append('field', 'value');
      const response = await request(`${origin}/form`, { dispatcher: dispatchers.make(side, { h2: true }), method: 'POST', body: form });
      const echoed = (await response.body.json()) as Echoed;
      return { lengthMatches: echoed.headers['content-length'] === String(echoed.length), multipart: echoed.headers['content-type']?.startsWith('multipart/form-data; boundary=') };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ lengthMatches: true, multipart: true });
  });

  it("array header values are joined with ', ', repeated fields too", async () => {
    const origin = await h2Echo();
    const outcomes = await onBothSides(async (side) => {
      const response = await request(`${origin}/headers`, {
        dispatcher: dispatchers.make(side, { h2: true }),
        headers: ['x-list', ['a', 'b'], 'x-list', 'c'] as never,
      });
      return ((await response.body.json()) as Echoed).headers['x-list'];
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toBe('a, b, c');
  });

  it('expectContinue sends expect: 100-continue and the body once the server says 100 Continue', async () => {
    const origin = await h2Echo();
    const outcomes = await onBothSides(async (side) => {
      const response = await request(`${origin}/continue`, { dispatcher: dispatchers.make(side, { h2: true }), method: 'POST', body: 'after continue', expectContinue: true });
      const echoed = (await response.body.json()) as Echoed;
      return { expect: echoed.headers.expect, body: echoed.body };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ expect: '100-continue', body: 'after continue' });
  });

  it("a stream the server resets before its response fails with Node's error (a reset) or undici's InformationalError (a cancel)", async () => {
    const server = await startHttp2Server((stream, headers) => {
      stream.close(headers[':path'] === '/cancel' ? http2.constants.NGHTTP2_CANCEL : http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
    cleanups.push(() => server.close());
    const outcomes = await onBothSides(async (side) => {
      const dispatcher = dispatchers.make(side, { h2: true });
      const reset = await dispatchRecorded(dispatcher, { origin: server.origin, path: '/reset' });
      const cancel = await dispatchRecorded(dispatcher, { origin: server.origin, path: '/cancel' });
      return { reset: describeError(reset.error), cancel: describeError(cancel.error) };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({
      reset: { name: 'Error', code: 'ERR_HTTP2_STREAM_ERROR', message: 'Stream closed with error code NGHTTP2_INTERNAL_ERROR' },
      cancel: { name: 'InformationalError', code: 'UND_ERR_INFO', message: 'HTTP/2: stream closed before the response was complete' },
    });
  });

  it("legacy handlers read HTTP/2 trailers by name, as undici gives them", async () => {
    const server = await startHttp2Server((stream) => {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc' }));
      stream.end('body');
    });
    cleanups.push(() => server.close());
    const outcomes = await onBothSides(async (side) => {
      const outcome = await dispatchRecorded(dispatchers.make(side, { h2: true }), { origin: server.origin, path: '/' });
      return { body: outcome.body, checksum: (outcome.trailers as Record<string, unknown>)['x-checksum'] };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ body: 'body', checksum: 'abc' });
  });
});

describe("close() and destroy()'s arguments (item 6)", () => {
  it('a callback that is not a function is refused with InvalidArgumentError; callbacks get (error, null)', async () => {
    const outcomes = await onBothSides(async (side: Side) => {
      const seen: unknown[] = [];
      const attempt = (call: () => unknown): void => {
        try {
          call();
          seen.push('no throw');
        } catch (error) {
          seen.push(describeError(error));
        }
      };
      const open = dispatchers.make(side);
      attempt(() => open.close({} as never));
      attempt(() => open.destroy(null, {} as never));
      attempt(() => open.destroy(new Error('x'), 5 as never));
      await new Promise<void>((resolve) => open.close((...args: unknown[]) => resolve(void seen.push(args))));
      const destroyed = dispatchers.make(side);
      await new Promise<void>((resolve) => destroyed.destroy((...args: unknown[]) => resolve(void seen.push(args))));
      await new Promise<void>((resolve) => destroyed.close((...args: unknown[]) => resolve(void seen.push(args.map((arg) => (arg instanceof Error ? describeError(arg).code : arg))))));
      return seen;
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    const refused = { name: 'InvalidArgumentError', code: 'UND_ERR_INVALID_ARG', message: 'invalid callback' };
    expect(outcomes.peer).toEqual([refused, refused, refused, [null, null], [null, null], ['UND_ERR_DESTROYED', null]]);
  });
});
