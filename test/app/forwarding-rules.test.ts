import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders, withoutHopByHop } from '../../src/app/proxy/forwarded-headers.js';
import { upstreamPathOf } from '../../src/app/proxy/proxy-path.js';

describe('hop-by-hop headers', () => {
  it('drops the fixed list and every header the Connection header names', () => {
    const headers = withoutHopByHop({
      connection: 'keep-alive, X-Session-Secret, x-trace',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'proxy-authenticate': 'Basic',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      trailer: 'x-checksum',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'x-session-secret': 's3cr3t',
      'x-trace': '1',
      'content-type': 'application/json',
      'content-length': '12',
      authorization: 'Bearer end-to-end',
    });
    expect(headers).toEqual({ 'content-type': 'application/json', 'content-length': '12', authorization: 'Bearer end-to-end' });
  });

  it('drops them from responses too', () => {
    expect(clientResponseHeaders({ 'transfer-encoding': 'chunked', connection: 'close', 'keep-alive': 'timeout=5', 'set-cookie': ['a=1', 'b=2'] })).toEqual({
      'set-cookie': ['a=1', 'b=2'],
    });
  });
});

describe('X-Forwarded-* on the way upstream', () => {
  it('appends the client to X-Forwarded-For and sets -Proto and -Host from this hop', () => {
    const headers = upstreamRequestHeaders(
      { host: 'gateway.example.com', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'spoofed.example' },
      { remoteAddress: '::ffff:10.1.2.3', protocol: 'http' },
    );
    expect(headers['x-forwarded-for']).toBe('203.0.113.7, 10.1.2.3');
    // A client's own claims are not passed on as if this hop had made them.
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe('gateway.example.com');
  });

  it('leaves Host and Expect to the next hop', () => {
    const headers = upstreamRequestHeaders({ host: 'gateway.example.com', expect: '100-continue' }, { remoteAddress: '127.0.0.1', protocol: 'http' });
    expect(headers).not.toHaveProperty('host');
    expect(headers).not.toHaveProperty('expect');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
  });
});

describe('the upstream path of a proxied request', () => {
  it.each([
    ['/proxy/orders/7?expand=items&x=%20', '/orders/7?expand=items&x=%20'],
    ['/proxy', '/'],
    ['/proxy/', '/'],
    ['/proxy?debug=1', '/?debug=1'],
    ['/proxy/a%20b/c', '/a%20b/c'],
  ])('%s is forwarded as %s, its query untouched', (url, expected) => {
    expect(upstreamPathOf(url, 'proxy')).toBe(expected);
  });

  it.each(['/proxy/../admin', '/proxy/%2e%2e/admin', '/proxy/.%2E/admin', '/proxy/a/./b', '/proxy/a%2Fb', '/proxy/a%5c..', '/proxyx/a', '/other', '/proxy/%zz'])(
    'refuses %s (it could leave the upstream base path, or is not under /proxy)',
    (url) => {
      expect(upstreamPathOf(url, 'proxy')).toBeNull();
    },
  );
});
