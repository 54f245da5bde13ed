import * as http from 'node:http';
import { gzipSync } from 'node:zlib';
import { interceptors, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { LOOPBACK } from '../support/local-servers.js';
import { dispatcherFactory, onBothSides } from './support/peers.js';

/**
 * undici's interceptors composed over the pool's dispatcher (`dispatcher.compose(...)`), each
 * against undici's own Agent composed the same way: redirect, retry, dns, decompress, cache,
 * responseError.
 */

const dispatchers = dispatcherFactory();
const servers: HttpTestServer[] = [];
afterEach(async () => {
  await dispatchers.closeAll();
  while (servers.length > 0) await servers.pop()?.close();
});

async function server(handler: http.RequestListener): Promise<HttpTestServer> {
  const started = await startHttpServer(handler);
  servers.push(started);
  return started;
}

describe("undici's interceptors over the pool's dispatcher", () => {
  it('redirect: follows 302 and 307 to the end', async () => {
    const upstream = await server((req, res) => {
      if (req.url === '/start') res.writeHead(302, { location: '/middle' }).end();
      else if (req.url === '/middle') res.writeHead(307, { location: '/end' }).end();
      else res.end(`at ${req.url} by ${req.method}`);
    });
    const outcomes = await onBothSides(async (side) => {
      const dispatcher = dispatchers.make(side).compose(interceptors.redirect({ maxRedirections: 3 }));
      const response = await request(`${upstream.origin}/start`, { dispatcher });
      return { status: response.statusCode, body: await response.body.text() };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ status: 200, body: 'at /end by GET' });
  });

  it('retry: a 503 is retried until the answer is good', async () => {
    let calls = 0;
    const upstream = await server((_req, res) => {
      calls++;
      if (calls % 3 !== 0) res.writeHead(503, { 'retry-after': '0' }).end('busy');
      else res.end('finally');
    });
    const outcomes = await onBothSides(async (side) => {
      calls = 0;
      const dispatcher = dispatchers.make(side).compose(interceptors.retry({ maxRetries: 3, minTimeout: 1, maxTimeout: 5, timeoutFactor: 1, statusCodes: [503] }));
      const response = await request(`${upstream.origin}/`, { dispatcher });
      return { status: response.statusCode, body: await response.body.text(), calls };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ status: 200, body: 'finally', calls: 3 });
  });

  it('dns: the name is resolved by the interceptor, and the server is asked for it by name', async () => {
    const upstream = await server((req, res) => res.end(`host ${String(req.headers.host)}`));
    const outcomes = await onBothSides(async (side) => {
      const looked: string[] = [];
      const lookup = (origin: URL, _options: unknown, callback: (error: Error | null, addresses: Array<{ address: string; family: 4 | 6; ttl: number }>) => void): void => {
        looked.push(origin.hostname);
        callback(null, [{ address: LOOPBACK, family: 4, ttl: 60_000 }]);
      };
      const dispatcher = dispatchers.make(side).compose(interceptors.dns({ lookup, dualStack: false }));
      const response = await request(`http://upstream.test:${upstream.port}/`, { dispatcher });
      return { body: await response.body.text(), looked };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ body: `host upstream.test:${upstream.port}`, looked: ['upstream.test'] });
  });

  it('decompress: a gzip body arrives decoded', async () => {
    const upstream = await server((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(gzipSync('compressed over the pool'));
    });
    const outcomes = await onBothSides(async (side) => {
      const dispatcher = dispatchers.make(side).compose(interceptors.decompress());
      const response = await request(`${upstream.origin}/`, { dispatcher });
      return { body: await response.body.text(), encoding: response.headers['content-encoding'] ?? null };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer.body).toBe('compressed over the pool');
  });

  it('cache: a cacheable response is served from the cache the second time', async () => {
    let calls = 0;
    const upstream = await server((_req, res) => {
      calls++;
      res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' }).end(`call ${calls}`);
    });
    const outcomes = await onBothSides(async (side) => {
      calls = 0;
      const dispatcher = dispatchers.make(side).compose(interceptors.cache());
      const first = await (await request(`${upstream.origin}/cached`, { dispatcher })).body.text();
      const second = await (await request(`${upstream.origin}/cached`, { dispatcher })).body.text();
      return { bodies: [first, second], calls };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ bodies: ['call 1', 'call 1'], calls: 1 });
  });

  it('responseError: an error status becomes an error', async () => {
    const upstream = await server((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('nothing here'));
    const outcomes = await onBothSides(async (side) => {
      const dispatcher = dispatchers.make(side).compose(interceptors.responseError());
      const error = await request(`${upstream.origin}/missing`, { dispatcher }).then(
        () => null,
        (e: unknown) => e as { name: string; statusCode?: number },
      );
      return { name: error?.name, statusCode: error?.statusCode };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ name: 'ResponseError', statusCode: 404 });
  });

  it('several at once, in order: dns, then redirect, then retry', async () => {
    const paths: string[] = [];
    const upstream = await server((req, res) => {
      paths.push(String(req.url));
      if (req.url === '/go') res.writeHead(301, { location: '/there' }).end();
      else if (paths.filter((path) => path === '/there').length === 1) res.writeHead(503).end();
      else res.end(`${req.url} for ${String(req.headers.host)}`);
    });
    const outcomes = await onBothSides(async (side) => {
      paths.length = 0;
      const lookup = (_origin: URL, _options: unknown, callback: (error: Error | null, addresses: Array<{ address: string; family: 4 | 6; ttl: number }>) => void): void =>
        callback(null, [{ address: LOOPBACK, family: 4, ttl: 60_000 }]);
      const dispatcher = dispatchers
        .make(side)
        .compose(interceptors.dns({ lookup, dualStack: false }), interceptors.redirect({ maxRedirections: 1 }), interceptors.retry({ maxRetries: 1, minTimeout: 1, statusCodes: [503] }));
      const response = await request(`http://named.test:${upstream.port}/go`, { dispatcher });
      return { body: await response.body.text(), paths: [...paths] };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    // The 503 makes the retry send the request again from its first URL, redirect and all.
    expect(outcomes.peer).toEqual({ body: `/there for named.test:${upstream.port}`, paths: ['/go', '/there', '/go', '/there'] });
  });
});
