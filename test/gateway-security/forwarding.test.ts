import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { rawExchange } from './support/raw-client.js';
import { startRecordingUpstream, type RecordingUpstream } from './support/recording-upstream.js';

let upstream: RecordingUpstream | undefined;
afterEach(async () => {
  await stopTestServices();
  await upstream?.close();
  upstream = undefined;
});

const SPOOFED = [
  'Forwarded: for=6.6.6.6;host=evil.example;proto=https',
  'X-Forwarded-For: 6.6.6.6',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: evil.example',
  'X-Forwarded-Port: 443',
  'X-Forwarded-Prefix: /admin',
  'X-Real-IP: 6.6.6.6',
].join('\r\n');

async function forwardedHeaders(trustProxy: string): Promise<Record<string, string>> {
  upstream = await startRecordingUpstream();
  const service = await startTestService({ UPSTREAM_URL: upstream.url, TRUST_PROXY: trustProxy });
  const exchange = await rawExchange(service.port, `GET /proxy/who HTTP/1.1\r\nHost: gateway.test:8080\r\n${SPOOFED}\r\nConnection: close\r\n\r\n`, { methods: ['GET'] });
  expect(exchange.responses.map((r) => r.status)).toEqual([200]);
  const [request] = upstream.requests;
  const headers: Record<string, string> = {};
  for (const [name, value] of request?.headers ?? []) {
    if (name === 'forwarded' || name.startsWith('x-forwarded-') || name === 'x-real-ip') {
      // Each once: a second field would let the upstream pick either.
      expect(headers).not.toHaveProperty(name);
      headers[name] = value;
    }
  }
  return { ...headers, port: String(service.port) };
}

describe('Forwarded, X-Forwarded-* and X-Real-IP as the upstream receives them', () => {
  it('TRUST_PROXY off (the default): what the client claims is replaced by what this hop saw', async () => {
    const { port, ...headers } = await forwardedHeaders('false');
    expect(headers).toEqual({
      forwarded: 'for=127.0.0.1;host="gateway.test:8080";proto=http',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gateway.test:8080',
      'x-forwarded-port': port,
      'x-real-ip': '127.0.0.1',
    });
  });

  it('TRUST_PROXY on: Forwarded and X-Forwarded-For are appended to (RFC 7239), the rest kept from the proxy in front', async () => {
    const { port: _port, ...headers } = await forwardedHeaders('true');
    expect(headers).toEqual({
      forwarded: 'for=6.6.6.6;host=evil.example;proto=https, for=127.0.0.1;host="gateway.test:8080";proto=http',
      'x-forwarded-for': '6.6.6.6, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-port': '443',
      'x-forwarded-prefix': '/admin',
      'x-real-ip': '6.6.6.6',
    });
  });
});

describe('the path policy, end to end', () => {
  const refused = [
    '/proxy/..;/admin',
    '/proxy/%2e%2e;/admin',
    '/proxy/..%3b/admin',
    '/proxy/.;/admin',
    '/proxy/%252e%252e/admin',
    '/proxy/..%00/admin',
    '/proxy/a%00b',
    '/proxy/..;jsessionid=x/admin',
    '/proxy/%2e%2e%2fadmin',
    '/proxy/...%5cadmin',
  ];

  it.each(refused)('%s: 400 PATH_NOT_FORWARDED, nothing reaches the upstream', async (path) => {
    upstream = await startRecordingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    const exchange = await rawExchange(service.port, `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`, { methods: ['GET'] });
    expect(exchange.responses.map((r) => r.status)).toEqual([400]);
    expect(JSON.parse(exchange.responses[0]?.body.toString() ?? '{}')).toMatchObject({ code: 'PATH_NOT_FORWARDED' });
    expect(upstream.requests).toEqual([]);
  });

  it('dots and parameters that are not dot-segments go through as they came', async () => {
    upstream = await startRecordingUpstream();
    const service = await startTestService({ UPSTREAM_URL: upstream.url });
    const paths = ['/.well-known/x', '/a..b/c', '/v1;version=2/items', '/50%25off', '/a/%2e%2ejs', '/q?path=../../etc&x=%00'];
    for (const path of paths) {
      const exchange = await rawExchange(service.port, `GET /proxy${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`, { methods: ['GET'] });
      expect(exchange.responses.map((r) => r.status)).toEqual([200]);
    }
    expect(upstream.requests.map((r) => r.target)).toEqual(paths);
  });
});
