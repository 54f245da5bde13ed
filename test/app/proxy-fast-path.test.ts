import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices, type TestService } from './support/test-service.js';
import { waitFor } from '../support/wait-for.js';

// The proxy as the front door serves it (before Express and Nest): the gateway's defaults at a
// gateway's concurrency, the drain, the metrics and what a client that leaves mid-way leaves
// behind, all through the running service and real upstream servers on loopback.

interface Upstream {
  readonly url: string;
  /** Requests received and not answered yet, in arrival order. */
  readonly held: Array<{ request: http.IncomingMessage; response: http.ServerResponse }>;
  /** Connections the upstream accepted. */
  connections: number;
  close(): Promise<void>;
}

const upstreams: Upstream[] = [];

/** An upstream that holds every request until the test answers it (no timing involved). */
async function holdingUpstream(): Promise<Upstream> {
  const server = http.createServer();
  const upstream: Upstream = {
    url: '',
    held: [],
    connections: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on('connection', () => upstream.connections++);
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => upstream.held.push({ request, response }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  Object.assign(upstream, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  upstreams.push(upstream);
  return upstream;
}

afterEach(async () => {
  await stopTestServices();
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

/** Sends GET `path` on a connection of its own; resolves with the response, its body unread. */
function send(service: TestService, path: string, options: http.RequestOptions = {}): { request: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const request = http.request(`${service.url}${path}`, { agent: false, ...options });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  return { request, response };
}

async function bodyOf(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

async function metricsOf(service: TestService): Promise<string> {
  return (await service.fetch('/metrics')).text;
}

describe('the pool defaults at a gateway concurrency', () => {
  it('keeps the connections of 32 concurrent requests idle for the next 32 (POOL_MAX_IDLE 256), none closed and reopened', async () => {
    const upstream = await holdingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    expect(service.config.pool).toMatchObject({ maxIdleConnections: 256, maxConnectionsPerAddress: 256 });
    for (let wave = 1; wave <= 2; wave++) {
      const exchanges = Array.from({ length: 32 }, (_, i) => send(service, `/proxy/wave/${wave}/${i}`));
      for (const { request } of exchanges) request.end();
      // All 32 are in flight at once: the upstream holds them until the last one has come.
      await waitFor(() => upstream.held.length === 32, '32 requests held by the upstream');
      for (const { response } of upstream.held.splice(0)) response.end('ok');
      const responses = await Promise.all(exchanges.map(({ response }) => response));
      expect(await Promise.all(responses.map(bodyOf))).toEqual(Array.from({ length: 32 }, () => 'ok'));
    }
    await waitFor(async () => (await service.poolSnapshot()).stats.idle === 32, '32 idle connections');
    const { stats } = await service.poolSnapshot();
    expect(stats.totals).toMatchObject({ connects: 32, closed: 0, acquired: 64, reused: 32 });
    expect(upstream.connections).toBe(32);
  });
});

describe('drain with fast-path requests in flight', () => {
  it('counts a proxied request in flight until its response ends, and tells its client Connection: close while draining', async () => {
    const upstream = await holdingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    const { request, response } = send(service, '/proxy/slow', { headers: { connection: 'keep-alive' } });
    request.end();
    await waitFor(() => upstream.held.length === 1, 'the request at the upstream');
    expect(service.inFlight.count).toBe(1);
    service.lifecycle.beginDrain('SIGTERM received');
    const idle = service.inFlight.whenIdle(10_000);
    upstream.held[0]?.response.end('done');
    const answer = await response;
    expect(answer.headers.connection).toBe('close');
    expect(await bodyOf(answer)).toBe('done');
    expect(await idle).toBe(true);
    expect(service.inFlight.count).toBe(0);
  });
});

describe('the metrics and the leases of fast-path requests', () => {
  it('counts refused, failed and forwarded requests with their outcome', async () => {
    const upstream = await holdingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    expect((await service.fetch('/proxy/%2e%2e/admin')).status).toBe(400);
    const forwarded = service.fetch('/proxy/ok', { method: 'DELETE' });
    await waitFor(() => upstream.held.length === 1, 'the request at the upstream');
    upstream.held[0]?.response.writeHead(201).end();
    expect((await forwarded).status).toBe(201);
    await upstream.close();
    const failed = await service.fetch('/proxy/gone');
    expect(failed.status).toBe(502);
    expect(failed.json()).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
    expect(failed.text).not.toMatch(/\bat \S+ \(|node_modules|\/src\//);
    const text = await metricsOf(service);
    expect(text).toContain('gateway_proxy_requests_total{method="GET",status="400",outcome="rejected"} 1');
    expect(text).toContain('gateway_proxy_requests_total{method="DELETE",status="201",outcome="ok"} 1');
    expect(text).toContain('gateway_proxy_requests_total{method="GET",status="502",outcome="upstream_error"} 1');
    expect(text).toMatch(/^gateway_proxy_request_duration_seconds_count\{outcome="ok"\} 1$/m);
  });

  it('a client that leaves mid-response: counted aborted, its upstream connection closed (never reused), its lease back', async () => {
    const upstream = await holdingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    const { request, response } = send(service, '/proxy/stream');
    request.end();
    await waitFor(() => upstream.held.length === 1, 'the request at the upstream');
    const held = upstream.held[0];
    held?.response.writeHead(200, { 'content-type': 'text/plain' });
    held?.response.write('first part');
    const answer = await response;
    await once(answer, 'data');
    const upstreamGone = once(held?.response as http.ServerResponse, 'close');
    request.destroy();
    // The upstream sees its connection closed: the rest of that body is never read.
    await upstreamGone;
    await waitFor(async () => (await service.poolSnapshot()).stats.inUse === 0 && (await service.poolSnapshot()).stats.connections === 0, 'the lease back and the connection closed');
    await waitFor(async () => (await metricsOf(service)).includes('gateway_proxy_requests_total{method="GET",status="200",outcome="aborted"} 1'), 'the aborted request counted');
    expect(service.inFlight.count).toBe(0);
  });

  it('a client that leaves mid-body: the upstream request is cut (never finished), the lease is back', async () => {
    const upstream = await holdingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    const { request, response } = send(service, '/proxy/upload', { method: 'POST', headers: { 'content-length': '1000' } });
    // The client leaves: it gets no response (its request fails with a hang-up).
    const noAnswer = response.then(() => 'answered', () => 'no answer');
    request.write('x'.repeat(100));
    await waitFor(() => upstream.held.length === 1, 'the request at the upstream');
    const received = upstream.held[0]?.request as http.IncomingMessage;
    const ended = new Promise<string>((resolve) => {
      received.on('error', () => resolve('error'));
      received.on('end', () => resolve('end'));
      received.on('close', () => resolve(received.complete ? 'end' : 'cut'));
      received.resume();
    });
    request.destroy();
    expect(await noAnswer).toBe('no answer');
    expect(await ended).not.toBe('end');
    expect(received.complete).toBe(false);
    await waitFor(async () => (await service.poolSnapshot()).stats.inUse === 0, 'the lease back');
    expect(service.inFlight.count).toBe(0);
  });
});

describe('a client that leaves an h2 upstream exchange (UPSTREAM_HTTP2=always)', () => {
  it('mid-response: its h2 stream is cancelled, the session stays, the lease is back, counted aborted, nothing thrown', async () => {
    // The embedded upstream over TLS and h2: /bytes/n streams n bytes in chunks.
    const service = await startTestService({ UPSTREAM_HTTP2: 'always' });
    const { request, response } = send(service, '/proxy/bytes/67108864');
    request.end();
    const answer = await response;
    expect(answer.statusCode).toBe(200);
    await once(answer, 'data');
    request.destroy();
    await waitFor(async () => (await metricsOf(service)).includes('gateway_proxy_requests_total{method="GET",status="200",outcome="aborted"} 1'), 'the aborted request counted');
    await waitFor(async () => (await service.poolSnapshot()).stats.inUse === 0, 'the lease back');
    expect(service.inFlight.count).toBe(0);
    // The session is still there for the next request: only the stream was cancelled.
    const next = await service.fetch('/proxy/echo');
    expect(next.status).toBe(200);
    expect((await service.poolSnapshot()).stats.totals.connects).toBe(1);
  });
});

describe('which targets the front door hands to the proxy', () => {
  it('/proxy and under it in any case, and nothing else: /PROXY/x is refused by the proxy, /proxyx is not its route', async () => {
    const service = await startTestService();
    expect((await service.fetch('/proxy')).status).toBe(200);
    expect((await service.fetch('/proxy?x=1')).status).toBe(200);
    const upper = await service.fetch('/PROXY/echo');
    expect(upper.status).toBe(400);
    expect(upper.json()).toMatchObject({ code: 'PATH_NOT_FORWARDED' });
    expect((await service.fetch('/proxyx')).status).toBe(404);
    expect((await service.fetch('/health/live')).status).toBe(200);
  });
});
