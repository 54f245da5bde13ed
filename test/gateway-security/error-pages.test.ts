import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Logger } from '@nestjs/common';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonErrorHandler } from '../../src/app/http-server/json-error-handler.js';
import { ProxyService } from '../../src/app/proxy/proxy.service.js';
import type { UpstreamClient, UpstreamReceiver, UpstreamRequest } from '../../src/app/upstream/upstream-client.js';
import { UpstreamTarget } from '../../src/app/upstream/upstream-target.js';
import { loadAppConfig } from '../../src/app/config/app-config.js';
import { InFlightRequests } from '../../src/app/lifecycle/in-flight-requests.js';
import { AppLifecycle } from '../../src/app/lifecycle/app-lifecycle.js';
import { ProxyMetrics } from '../../src/app/metrics/proxy.metrics.js';
import { Registry } from 'prom-client';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { rawExchange } from './support/raw-client.js';

const TRACE = /\n\s+at |node_modules|\/src\/|\/work\/|\.ts:\d+/;
const servers: http.Server[] = [];
const environment = process.env.NODE_ENV;
afterEach(async () => {
  process.env.NODE_ENV = environment;
  await stopTestServices();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function get(target: string, method = 'GET'): string {
  return `${method} ${target} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`;
}

describe('no answer of the service shows a stack trace, a path or an internal message', () => {
  it.each([
    ['DELETE', '/pool/connections/%zz', 400],
    ['GET', '/%zz', 404],
    ['GET', '/dashboard/%zz', 400],
    ['GET', '/pool/events?pool=a&pool=b', 400],
    ['POST', '/pool', 404],
    ['OPTIONS', '*', 404],
    ['GET', '/proxy/%zz', 400],
  ])('%s %s under NODE_ENV=development: a JSON %d', async (method, target, status) => {
    process.env.NODE_ENV = 'development';
    const service = await startTestService({ ADMIN_TOKEN: 'a-token-of-twenty-chars' });
    const auth = method === 'DELETE' ? 'Authorization: Bearer a-token-of-twenty-chars\r\n' : '';
    const exchange = await rawExchange(service.port, `${method} ${target} HTTP/1.1\r\nHost: gateway.test\r\n${auth}Connection: close\r\n\r\n`, { methods: [method] });
    expect(exchange.responses.map((r) => r.status)).toEqual([status]);
    const [response] = exchange.responses;
    expect(response?.headers.find(([name]) => name === 'content-type')?.[1]).toMatch(/^application\/json/);
    expect(response?.body.toString()).not.toMatch(TRACE);
  });

  it("an error that gets past Nest's filters is answered by the last handler in JSON, its detail only logged (Express would show the stack outside production)", async () => {
    process.env.NODE_ENV = 'development';
    const logged: string[] = [];
    const logger = new Logger('test');
    logger.error = (message: unknown) => void logged.push(String(message));
    const app = express();
    app.get('/boom', () => {
      throw new Error('secret detail at /srv/app/node_modules/x.js:1:2');
    });
    app.get('/bad', (_req, _res, next) => next(Object.assign(new Error('unreadable body at /srv/x'), { status: 400 })));
    app.get('/late', (_req, res, next) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345');
      next(new Error('failed half-way'));
    });
    app.use(jsonErrorHandler(logger));
    const port = await listen(app);

    const boom = await rawExchange(port, get('/boom'), { methods: ['GET'] });
    expect(boom.responses.map((r) => r.status)).toEqual([500]);
    expect(JSON.parse(boom.responses[0]?.body.toString() ?? '{}')).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      code: 'INTERNAL_ERROR',
      message: 'The service failed to answer this request.',
    });
    const bad = await rawExchange(port, get('/bad'), { methods: ['GET'] });
    expect(JSON.parse(bad.responses[0]?.body.toString() ?? '{}')).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST', message: 'The request could not be read.' });
    // Too late for an answer: the connection is cut, so the client cannot take a part for the whole.
    const late = await rawExchange(port, get('/late'), { methods: ['GET'] });
    expect(late.responses).toEqual([]);
    expect(late.leftover).not.toContain('failed');
    expect(logged.join('\n')).toContain('secret detail');
  });

  it('upstream header fields the client side cannot write: 502 JSON, no trace, the upstream body dropped (with it its connection)', async () => {
    const body = new PassThrough();
    const client: UpstreamClient = {
      protocol: 'h2',
      send: (_request: UpstreamRequest, receiver: UpstreamReceiver): void =>
        receiver.answered({
          statusCode: 200,
          statusMessage: undefined,
          // An h2 library could hand over what HTTP/1.1 cannot carry.
          headers: { 'x-bad': 'a\r\nSet-Cookie: injected=1', 'set-cookie': ['kept=1'] },
          body,
          protocol: 'h2',
          reusedConnection: false,
        }),
    };
    const config = loadAppConfig({});
    const proxy = new ProxyService(client, new UpstreamTarget(new URL('https://upstream.test')), config, new InFlightRequests(), new ProxyMetrics(new Registry()), new AppLifecycle());
    const port = await listen((req, res) => proxy.forward(Object.assign(req, { originalUrl: req.url }), res));
    const exchange = await rawExchange(port, get('/proxy/x'), { methods: ['GET'] });
    expect(exchange.responses.map((r) => r.status)).toEqual([502]);
    const [response] = exchange.responses;
    expect(JSON.parse(response?.body.toString() ?? '{}')).toMatchObject({ code: 'UPSTREAM_PROTOCOL_ERROR', upstream: 'https://upstream.test:443' });
    expect(response?.headers.map(([name]) => name)).not.toContain('set-cookie');
    expect(response?.body.toString()).not.toMatch(TRACE);
    expect(body.destroyed).toBe(true);
  });
});
