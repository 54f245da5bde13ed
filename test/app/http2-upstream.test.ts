import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedUpstream } from '../../src/app/embedded-upstream/embedded-upstream.js';
import { DispatcherUpstreamClient } from '../../src/app/upstream/dispatcher-upstream-client.js';
import { ClientAbort } from '../../src/app/upstream/client-abort.js';
import { UpstreamError } from '../../src/app/upstream/upstream.errors.js';
import { UpstreamTarget } from '../../src/app/upstream/upstream-target.js';
import { ConnectionPool } from '../../src/http/index.js';
import { startTestService, stopTestServices } from './support/test-service.js';

interface Echo {
  readonly method: string;
  readonly path: string;
  readonly httpVersion: string;
  readonly body: string;
  readonly bodyBytes: number;
  readonly bodySha256: string;
}

const upstreams: EmbeddedUpstream[] = [];
const pools: ConnectionPool[] = [];
afterEach(async () => {
  await stopTestServices();
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await Promise.all(upstreams.splice(0).map((upstream) => upstream.close()));
});

/** The embedded upstream on its own (TLS, h2 by ALPN), and a file of its certificate. */
async function tlsUpstream(): Promise<{ upstream: EmbeddedUpstream; url: string; caFile: string; ca: string }> {
  const upstream = await EmbeddedUpstream.start();
  upstreams.push(upstream);
  const ca = upstream.certificate as string;
  const caFile = join(mkdtempSync(join(tmpdir(), 'rcp-h2-ca-')), 'ca.pem');
  writeFileSync(caFile, ca);
  return { upstream, url: (upstream.tlsUrl as URL).href, caFile, ca };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('the proxy over an HTTP/2 upstream (UPSTREAM_HTTP2)', () => {
  it('forwards a GET and a streamed POST over h2, on one pooled session', async () => {
    const { url, caFile } = await tlsUpstream();
    const service = await startTestService({ UPSTREAM_URL: url, UPSTREAM_CA_FILE: caFile, UPSTREAM_HTTP2: 'always' });

    const get = await service.fetch('/proxy/echo/orders?id=7');
    expect(get.status).toBe(200);
    expect(get.json<Echo>()).toMatchObject({ method: 'GET', path: '/echo/orders', httpVersion: '2.0' });

    // Chunks of unknown length: the proxy must not pass its transfer-encoding on (h2 has none).
    const chunks = [Buffer.from('{"items":'), Buffer.alloc(200_000, 0x61), Buffer.from('}')];
    const post = await service.fetch('/proxy/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks });
    expect(post.status).toBe(200);
    const echo = post.json<Echo>();
    expect(echo).toMatchObject({ method: 'POST', httpVersion: '2.0', bodyBytes: 200_010 });
    expect(echo.bodySha256).toBe(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));

    const status = await service.fetch('/proxy/status/418');
    expect(status.status).toBe(418);

    const snapshot = await service.poolSnapshot();
    expect(snapshot.upstream.protocol).toBe('h2');
    expect(snapshot.stats.totals.connects).toBe(1);
    expect(snapshot.stats.totals.acquired).toBe(3);
    expect(snapshot.stats.totals.reused).toBe(2);
    expect(snapshot.connections).toHaveLength(1);
  });

  it('answers 502 UPSTREAM_UNREACHABLE when nothing listens', async () => {
    const port = await closedPort();
    const service = await startTestService({ UPSTREAM_URL: `https://127.0.0.1:${port}`, UPSTREAM_HTTP2: 'auto' });
    const response = await service.fetch('/proxy/echo');
    expect(response.status).toBe(502);
    expect(response.json()).toMatchObject({ statusCode: 502, code: 'UPSTREAM_UNREACHABLE' });
    expect(response.json<{ message: string }>().message).toContain('ECONNREFUSED');
  });

  it('with UPSTREAM_HTTP2=auto and no UPSTREAM_URL, forwards to the embedded upstream over TLS and h2', async () => {
    const service = await startTestService({ UPSTREAM_HTTP2: 'auto' });
    expect(service.target.protocol).toBe('https:');
    const response = await service.fetch('/proxy/echo');
    expect(response.status).toBe(200);
    expect(response.json<Echo>().httpVersion).toBe('2.0');
    expect((await service.poolSnapshot()).upstream.protocol).toBe('h2');
  });

  it('keeps the HTTP/1.1 client by default (UPSTREAM_HTTP2=never)', async () => {
    const service = await startTestService();
    expect((await service.poolSnapshot()).upstream.protocol).toBe('http/1.1');
  });
});

describe('DispatcherUpstreamClient', () => {
  it('reports h2 and whether the session had served before', async () => {
    const { url, ca } = await tlsUpstream();
    const pool = new ConnectionPool({});
    pools.push(pool);
    const client = new DispatcherUpstreamClient(pool, new UpstreamTarget(new URL(url), { ca }), { timeoutMs: 10_000, http2: 'auto' });
    const seen: Array<[string, boolean]> = [];
    for (let i = 0; i < 3; i++) {
      const response = await client.request({ method: 'GET', path: '/echo', headers: {}, framing: { kind: 'none' }, body: null, clientAbort: new ClientAbort() });
      await readAll(response.body);
      seen.push([response.protocol, response.reusedConnection]);
    }
    expect(seen).toEqual([
      ['h2', false],
      ['h2', true],
      ['h2', true],
    ]);
    expect(client.protocol).toBe('h2');
    client.onModuleDestroy();
  });

  it('reports http/1.1 when the upstream chooses it (auto), and streams a request body', async () => {
    const upstream = await EmbeddedUpstream.start({ tls: false });
    upstreams.push(upstream);
    const pool = new ConnectionPool({});
    pools.push(pool);
    const client = new DispatcherUpstreamClient(pool, new UpstreamTarget(upstream.http1Url), { timeoutMs: 10_000, http2: 'auto' });
    const first = await client.request({ method: 'PUT', path: '/echo', headers: { 'transfer-encoding': 'chunked' }, framing: { kind: 'chunked' }, body: Readable.from([Buffer.from('hello '), Buffer.from('h1')]), clientAbort: new ClientAbort() });
    const echo = JSON.parse((await readAll(first.body)).toString()) as Echo;
    expect(echo).toMatchObject({ method: 'PUT', httpVersion: '1.1', body: 'hello h1' });
    expect([first.protocol, first.reusedConnection]).toEqual(['http/1.1', false]);
    const second = await client.request({ method: 'GET', path: '/echo', headers: {}, framing: { kind: 'none' }, body: null, clientAbort: new ClientAbort() });
    await readAll(second.body);
    expect([second.protocol, second.reusedConnection]).toEqual(['http/1.1', true]);
    client.onModuleDestroy();
  });

  it('rejects with a 502 UpstreamError when the upstream cannot be reached', async () => {
    const port = await closedPort();
    const pool = new ConnectionPool({});
    pools.push(pool);
    const client = new DispatcherUpstreamClient(pool, new UpstreamTarget(new URL(`https://127.0.0.1:${port}`)), { timeoutMs: 10_000, http2: 'always' });
    const failure = await client.request({ method: 'GET', path: '/', headers: {}, framing: { kind: 'none' }, body: null, clientAbort: new ClientAbort() }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ code: 'UPSTREAM_UNREACHABLE', status: 502 });
    client.onModuleDestroy();
  });
});
