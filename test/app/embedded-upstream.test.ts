import { X509Certificate, createPublicKey } from 'node:crypto';
import * as http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedUpstream } from '../../src/app/embedded-upstream/embedded-upstream.js';
import { createSelfSignedCertificate } from '../../src/app/embedded-upstream/self-signed-certificate.js';
import { request } from './support/http-client.js';

let upstream: EmbeddedUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

describe('the self-signed certificate (node:crypto only)', () => {
  it('is a valid, self-verifying X.509 server certificate for the names given', () => {
    const { cert, key } = createSelfSignedCertificate({ names: ['localhost', '127.0.0.1', '::1'], validForMs: 86_400_000 });
    const x509 = new X509Certificate(cert);
    expect(x509.subject).toBe('CN=localhost');
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkIP('::1')).toBe('::1');
    expect(x509.checkHost('example.com')).toBeUndefined();
    expect(x509.verify(createPublicKey(key))).toBe(true);
    expect(x509.ca).toBe(false);
    expect(new Date(x509.validTo).getTime()).toBeGreaterThan(Date.now() + 86_000_000);
  });
});

describe('the embedded upstream', () => {
  it('serves its routes over HTTP/1.1', async () => {
    upstream = await EmbeddedUpstream.start({ tls: false });
    const base = upstream.http1Url.origin;
    const echo = await request(`${base}/echo/x?a=1`, { method: 'PUT', body: 'ping', headers: { 'content-type': 'text/plain', connection: 'keep-alive' } });
    expect(echo.json()).toMatchObject({ method: 'PUT', path: '/echo/x', query: { a: '1' }, httpVersion: '1.1', body: 'ping', bodyBytes: 4 });
    expect((await request(`${base}/status/418`)).status).toBe(418);
    expect((await request(`${base}/status/204`)).body).toHaveLength(0);
    const bytes = await request(`${base}/bytes/200000`);
    expect(bytes.body).toHaveLength(200_000);
    expect(bytes.headers['transfer-encoding']).toBe('chunked');
    expect((await request(`${base}/delay/20`)).json()).toEqual({ delayedMs: 20 });
    expect((await request(`${base}/delay/999999`)).status).toBe(400);
    expect((await request(`${base}/nowhere`)).status).toBe(404);
    // Node's server keep-alive: the hint the pool honours.
    expect(echo.headers['keep-alive']).toBe('timeout=5');
  });

  it('serves the same routes over HTTP/2 and HTTP/1.1 on its TLS endpoint, trusted through its own certificate', async () => {
    upstream = await EmbeddedUpstream.start();
    const { tlsUrl, certificate } = upstream;
    expect(tlsUrl?.protocol).toBe('https:');
    const ca = certificate as string;

    const session = http2.connect((tlsUrl as URL).origin, { ca });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/echo?via=h2', ':method': 'POST' });
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
        stream.end('over h2');
      });
      expect(session.alpnProtocol).toBe('h2');
      expect(JSON.parse(body)).toMatchObject({ httpVersion: '2.0', method: 'POST', query: { via: 'h2' }, body: 'over h2' });
    } finally {
      session.close();
    }

    const overTls = await request(`${(tlsUrl as URL).origin}/echo`, { ca });
    expect(overTls.json()).toMatchObject({ httpVersion: '1.1' });
    await expect(request(`${(tlsUrl as URL).origin}/echo`)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('closes with clients still connected', async () => {
    upstream = await EmbeddedUpstream.start();
    const pending = request(`${upstream.http1Url.origin}/delay/30000`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await upstream.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
