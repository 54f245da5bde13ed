import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedUpstream } from '../../src/app/embedded-upstream/embedded-upstream.js';
import { startTestService, stopTestServices } from './support/test-service.js';
import { VirtualClock } from './support/virtual-clock.js';
import { waitFor } from '../support/wait-for.js';

interface Echo {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly httpVersion: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly bodyBytes: number;
  readonly bodySha256: string;
}

const others: EmbeddedUpstream[] = [];
afterEach(async () => {
  await stopTestServices();
  await Promise.all(others.splice(0).map((upstream) => upstream.close()));
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the proxy over an HTTP/1.1 upstream (the embedded one)', () => {
  it('forwards method, path, query, headers and body; drops hop-by-hop headers; sets Forwarded and X-Forwarded-*', async () => {
    const service = await startTestService();
    const response = await service.fetch('/proxy/echo/orders?id=7&x=%20y', {
      method: 'PATCH',
      headers: {
        host: 'gateway.test',
        connection: 'keep-alive, x-hop',
        'x-hop': 'connection-scoped',
        'keep-alive': 'timeout=30',
        te: 'trailers',
        'proxy-authorization': 'Basic c2VjcmV0',
        'x-forwarded-for': '198.51.100.1',
        'content-type': 'application/json',
        authorization: 'Bearer end-to-end',
      },
      body: '{"status":"shipped"}',
    });
    expect(response.status).toBe(200);
    const echo = response.json<Echo>();
    expect(echo).toMatchObject({ method: 'PATCH', path: '/echo/orders', query: { id: '7', x: ' y' }, httpVersion: '1.1', body: '{"status":"shipped"}' });
    expect(echo.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer end-to-end',
      // TRUST_PROXY is off: the client's own X-Forwarded-For is replaced by this hop's.
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      forwarded: 'for=127.0.0.1;host=gateway.test;proto=http',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gateway.test',
      host: new URL(service.target.origin).host,
    });
    for (const hop of ['x-hop', 'te', 'proxy-authorization']) expect(echo.headers).not.toHaveProperty(hop);
    // The upstream's own hop-by-hop headers stay on its hop too.
    expect(response.headers['keep-alive']).not.toBe('timeout=5');
  });

  it('streams large bodies both ways, chunked or not, byte for byte', async () => {
    const service = await startTestService();
    const payload = randomBytes(3 * 1024 * 1024);
    const chunks = [payload.subarray(0, 1_000_000), payload.subarray(1_000_000, 2_500_000), payload.subarray(2_500_000)];
    const sha = createHash('sha256').update(payload).digest('hex');

    const chunked = (await service.fetch('/proxy/echo', { method: 'POST', body: chunks })).json<Echo>();
    expect(chunked).toMatchObject({ bodyBytes: payload.length, bodySha256: sha });
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    // A body of unknown length is chunked even for methods Node would not chunk by itself.
    const deleted = (await service.fetch('/proxy/echo', { method: 'DELETE', body: [Buffer.from('abc'), Buffer.from('def')] })).json<Echo>();
    expect(deleted).toMatchObject({ method: 'DELETE', body: 'abcdef' });
    const sized = (await service.fetch('/proxy/echo', { method: 'PUT', body: payload })).json<Echo>();
    expect(sized).toMatchObject({ bodyBytes: payload.length, bodySha256: sha });
    expect(sized.headers['content-length']).toBe(String(payload.length));

    const download = await service.fetch('/proxy/bytes/2097152');
    expect(download.status).toBe(200);
    expect(download.body).toHaveLength(2_097_152);
    expect(download.headers['content-type']).toBe('application/octet-stream');
  });

  it('reuses one upstream connection for requests in sequence, as GET /pool shows', async () => {
    const service = await startTestService();
    for (let i = 0; i < 5; i++) expect((await service.fetch('/proxy/echo')).status).toBe(200);
    const snapshot = await service.poolSnapshot();
    expect(snapshot.stats.totals).toMatchObject({ connects: 1, acquired: 5, reused: 4 });
    expect(snapshot.connections).toEqual([expect.objectContaining({ state: 'idle', address: service.target.origin })]);
    expect(service.embedded?.http1Url.origin).toBe(service.target.origin);
  });

  it('opens one connection per concurrent request, then reuses them', async () => {
    const service = await startTestService();
    await Promise.all([1, 2, 3].map(() => service.fetch('/proxy/delay/100')));
    await Promise.all([1, 2, 3].map(() => service.fetch('/proxy/delay/1')));
    const { stats } = await service.poolSnapshot();
    expect(stats.totals.connects).toBe(3);
    expect(stats.totals.reused).toBeGreaterThanOrEqual(3);
    expect(stats.idle).toBe(3);
  });

  it("passes the upstream's statuses through as they are: its 503 is not the proxy's", async () => {
    const service = await startTestService();
    const teapot = await service.fetch('/proxy/status/418');
    expect(teapot.status).toBe(418);
    expect(teapot.json()).toEqual({ status: 418 });
    const unavailable = await service.fetch('/proxy/status/503');
    expect(unavailable.status).toBe(503);
    expect(unavailable.json()).toEqual({ status: 503 });
    expect((await service.fetch('/proxy/status/204')).body).toHaveLength(0);
  });

  it('forwards /proxy itself (the upstream root), and HEAD without a body', async () => {
    const service = await startTestService();
    const root = await service.fetch('/proxy?from=root');
    expect(root.status).toBe(200);
    expect(root.json<{ routes: unknown[] }>().routes.length).toBeGreaterThan(0);
    const head = await service.fetch('/proxy/bytes/1000', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toHaveLength(0);
    expect((await service.fetch('/proxyish')).status).toBe(404);
  });

  it('refuses paths that could leave the upstream base path, with a JSON 400', async () => {
    const service = await startTestService();
    const response = await service.fetch('/proxy/%2e%2e/admin');
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, code: 'PATH_NOT_FORWARDED' });
  });
});

describe('the proxy over HTTPS (HTTP/1.1 over TLS: the embedded TLS endpoint, trusted with UPSTREAM_CA_FILE)', () => {
  it('forwards through pooled TLS connections, reused across requests', async () => {
    const upstream = await EmbeddedUpstream.start();
    others.push(upstream);
    const caFile = join(mkdtempSync(join(tmpdir(), 'rcp-upstream-ca-')), 'ca.pem');
    writeFileSync(caFile, upstream.certificate as string);
    const service = await startTestService({ UPSTREAM_URL: `${(upstream.tlsUrl as URL).origin}/echo`, UPSTREAM_CA_FILE: caFile });

    const first = (await service.fetch('/proxy/first?n=1')).json<Echo>();
    const second = (await service.fetch('/proxy/second')).json<Echo>();
    // The base path of UPSTREAM_URL prefixes every proxied path.
    expect(first).toMatchObject({ path: '/echo/first', query: { n: '1' }, httpVersion: '1.1' });
    expect(second.path).toBe('/echo/second');
    const snapshot = await service.poolSnapshot();
    expect(snapshot.upstream).toMatchObject({ url: `${(upstream.tlsUrl as URL).origin}/echo`, embedded: false, protocol: 'http/1.1' });
    expect(snapshot.stats.totals).toMatchObject({ connects: 1, reused: 1 });
    expect(snapshot.connections[0]?.address).toContain('https://127.0.0.1');
  });

  it('answers 502 when the upstream certificate is not trusted (no UPSTREAM_CA_FILE)', async () => {
    const upstream = await EmbeddedUpstream.start();
    others.push(upstream);
    const service = await startTestService({ UPSTREAM_URL: (upstream.tlsUrl as URL).origin });
    const response = await service.fetch('/proxy/echo');
    expect(response.status).toBe(502);
    expect(response.json()).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
    expect(response.json<{ message: string }>().message).toContain('SELF_SIGNED');
  });
});

describe('when the upstream gives no answer', () => {
  it('answers 502 with a JSON body when it cannot be reached', async () => {
    const port = await closedPort();
    const service = await startTestService({ UPSTREAM_URL: `http://127.0.0.1:${port}` });
    const response = await service.fetch('/proxy/anything');
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json()).toMatchObject({
      statusCode: 502,
      error: 'Bad Gateway',
      code: 'UPSTREAM_UNREACHABLE',
      upstream: `http://127.0.0.1:${port}`,
    });
    expect(response.json<{ message: string }>().message).toContain('ECONNREFUSED');
  });

  it('answers 504 with a JSON body once UPSTREAM_TIMEOUT passes without an answer (virtual time)', async () => {
    const clock = new VirtualClock();
    const service = await startTestService({ UPSTREAM_TIMEOUT: '2s' }, { scheduler: clock.scheduler });
    const pending = service.fetch('/proxy/delay/60000');
    // The request is at the upstream once its connection is leased.
    await waitFor(() => service.pool.stats().inUse === 1, 'the proxied request to reach the upstream');
    clock.advanceBy(1_999);
    expect(service.pool.stats().inUse).toBe(1);
    clock.advanceBy(1);
    const response = await pending;
    expect(response.status).toBe(504);
    expect(response.json()).toMatchObject({ statusCode: 504, error: 'Gateway Timeout', code: 'UPSTREAM_TIMEOUT' });
    expect(response.json<{ message: string }>().message).toContain('2000 ms (UPSTREAM_TIMEOUT)');
    // The connection of the abandoned request is never handed out again.
    await waitFor(() => service.pool.stats().connections === 0, 'the timed-out connection to close');
  });

  it('answers 503 (Retry-After) when no connection slot frees up within POOL_ACQUIRE_TIMEOUT (virtual time)', async () => {
    const clock = new VirtualClock();
    const service = await startTestService({ POOL_MAX_PER_ADDRESS: '1', POOL_ACQUIRE_TIMEOUT: '500ms' }, { scheduler: clock.scheduler });
    const holder = service.fetch('/proxy/delay/300');
    await waitFor(() => service.pool.stats().inUse === 1, 'the first request to hold the only connection');
    const waiting = service.fetch('/proxy/echo');
    await waitFor(() => service.pool.stats().waiters === 1, 'the second request to wait for a slot');
    clock.advanceBy(500);
    const response = await waiting;
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.json()).toMatchObject({ code: 'POOL_EXHAUSTED' });
    expect((await holder).status).toBe(200);
  });
});

describe('a reused connection the upstream drops as the request arrives', () => {
  it('is retried once on a fresh connection for an idempotent request without a body, and not for a POST', async () => {
    // The upstream answers the first request of each connection, and drops the connection on the second.
    const served = new Map<Socket, number>();
    const seen: string[] = [];
    const upstream = createHttpServer((req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      seen.push(`${req.method} ${req.url} #${count}`);
      if (count > 1) {
        req.socket.destroy();
        return;
      }
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const service = await startTestService({ UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
      expect((await service.fetch('/proxy/a')).text).toBe('ok');
      const retried = await service.fetch('/proxy/b');
      expect(retried.status).toBe(200);
      expect(retried.text).toBe('ok');
      const posted = await service.fetch('/proxy/c', { method: 'POST', body: 'not twice' });
      expect(posted.status).toBe(502);
      expect(posted.json()).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
      expect(seen).toEqual(['GET /a #1', 'GET /b #2', 'GET /b #1', 'POST /c #2']);
    } finally {
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});

describe('keep-alive in virtual time', () => {
  it('closes an idle upstream connection once POOL_KEEP_ALIVE has passed, and the next request connects again', async () => {
    const clock = new VirtualClock();
    const service = await startTestService({ POOL_KEEP_ALIVE: '2s' }, { scheduler: clock.scheduler });
    await service.fetch('/proxy/echo');
    expect((await service.poolSnapshot()).stats.idle).toBe(1);
    clock.advanceBy(1_999);
    expect(service.pool.connectionCount()).toBe(1);
    clock.advanceBy(1);
    expect(service.pool.connectionCount()).toBe(0);
    await service.fetch('/proxy/echo');
    expect((await service.poolSnapshot()).stats.totals).toMatchObject({ connects: 2, closed: 1 });
  });
});
