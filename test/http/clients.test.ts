import * as http from 'node:http';
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import axios from 'axios';
import got from 'got';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { testCerts } from '../support/certs.js';
import { get, startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { waitFor } from '../support/wait-for.js';

// One integration test per client, against real local servers: plain HTTP, and HTTPS with
// the test CA and a client certificate (mutual TLS).
const certs = testCerts();
let plain: HttpTestServer;
let secure: HttpTestServer;
let pool: ConnectionPool;
const events: PoolEvent[] = [];

const reply: http.RequestListener = (req, res) => {
  const peer = (req.socket as TLSSocket).getPeerCertificate?.();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ path: req.url, method: req.method, client: peer?.subject?.CN ?? null }));
};

beforeAll(async () => {
  plain = await startHttpServer(reply, { keepAliveTimeout: 0 });
  secure = await startHttpServer(reply, {
    keepAliveTimeout: 0,
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true },
  });
  pool = new ConnectionPool();
  pool.events$.subscribe((event) => events.push(event));
});

afterAll(async () => {
  await pool.close();
  await plain.close();
  await secure.close();
});

const tls = () => ({ ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.encryptedKey, passphrase: certs.client.passphrase });

describe('HTTP clients over the pool', () => {
  it("node's http.request and https.request (mutual TLS with the test CA)", async () => {
    const first = await get(`${plain.origin}/node`, { agent: pool.httpAgent() });
    expect(JSON.parse(first.body)).toMatchObject({ path: '/node' });
    const agent = pool.httpsAgent({ tls: tls() });
    const a = await get(`https://localhost:${secure.port}/one`, { agent });
    const b = await get(`https://localhost:${secure.port}/two`, { agent });
    expect(JSON.parse(a.body)).toEqual({ path: '/one', method: 'GET', client: 'test-client' });
    expect(b.req.reusedSocket).toBe(true);
    expect(secure.sockets).toHaveLength(1);
  });

  it('axios with httpAgent and httpsAgent', async () => {
    const httpsAgent = pool.httpsAgent({ tls: tls() });
    const client = axios.create({ httpAgent: pool.httpAgent(), httpsAgent, proxy: false });
    const before = plain.sockets.length;
    const one = await client.get(`${plain.origin}/axios/1`);
    const two = await client.post(`${plain.origin}/axios/2`, { hello: 'world' });
    expect(one.data).toMatchObject({ path: '/axios/1' });
    expect(two.data).toMatchObject({ path: '/axios/2', method: 'POST' });
    expect(plain.sockets.length - before).toBeLessThanOrEqual(1);
    const secured = await client.get(`https://localhost:${secure.port}/axios/tls`);
    expect(secured.data).toEqual({ path: '/axios/tls', method: 'GET', client: 'test-client' });
  });

  it('got with agent: { http, https }', async () => {
    const client = got.extend({ agent: { http: pool.httpAgent(), https: pool.httpsAgent({ tls: tls() }) }, retry: { limit: 0 } });
    const plainReply = await client.get(`${plain.origin}/got`).json<{ path: string }>();
    expect(plainReply.path).toBe('/got');
    const securedReply = await client.get(`https://localhost:${secure.port}/got/tls`).json<{ client: string }>();
    expect(securedReply.client).toBe('test-client');
  });

  it('keeps connections with different TLS identities apart', async () => {
    const withClientCert = pool.httpsAgent({ tls: tls() });
    const withoutClientCert = pool.httpsAgent({ tls: { ca: certs.ca.cert } });
    await get(`https://localhost:${secure.port}/id`, { agent: withClientCert });
    // The server requires a client certificate: without one the handshake must fail, and it
    // must not borrow the connection that presented one.
    await expect(get(`https://localhost:${secure.port}/id`, { agent: withoutClientCert })).rejects.toThrow();
    const keys = new Set(pool.connections().map((c) => c.address));
    for (const key of keys) expect(key).not.toContain(certs.client.passphrase);
  });

  it('every lease went back to the pool', async () => {
    await waitFor(() => pool.stats().leases === 0, 'every lease to be released');
    expect(events.some((e) => e.type === 'connection-leaked')).toBe(false);
    expect(http.globalAgent).not.toBe(pool.httpAgent());
    expect(https.globalAgent).not.toBe(pool.httpsAgent());
  });
});
