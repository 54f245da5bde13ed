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

  it('never lets the Connection header remove a framing field or Host', () => {
    const headers = withoutHopByHop({ connection: 'content-length, Transfer-Encoding, host, x-a', 'content-length': '5', host: 'gateway.test', 'x-a': '1' });
    expect(headers).toEqual({ 'content-length': '5', host: 'gateway.test' });
  });

  it('drops them from responses too', () => {
    expect(clientResponseHeaders({ 'transfer-encoding': 'chunked', connection: 'close', 'keep-alive': 'timeout=5', 'set-cookie': ['a=1', 'b=2'] })).toEqual({
      'set-cookie': ['a=1', 'b=2'],
    });
  });
});

describe('the framing of the forwarded request is the gateway\'s', () => {
  it.each([
    [{ kind: 'length', length: 5 } as const, { 'content-length': '5' }],
    [{ kind: 'chunked' } as const, { 'transfer-encoding': 'chunked' }],
    [{ kind: 'none' } as const, {}],
  ])('%o: the client\'s Content-Length and Host are replaced, whatever Connection names', (framing, expected) => {
    const headers = upstreamRequestHeaders(
      { host: 'gateway.test', connection: 'content-length', 'content-length': '999', 'transfer-encoding': 'chunked', expect: '100-continue' },
      framing,
      { remoteAddress: '127.0.0.1', protocol: 'http' },
      false,
    );
    expect(headers).not.toHaveProperty('host');
    expect(headers).not.toHaveProperty('expect');
    expect({ 'content-length': headers['content-length'], 'transfer-encoding': headers['transfer-encoding'] }).toEqual({
      'content-length': undefined,
      'transfer-encoding': undefined,
      ...expected,
    });
  });
});

describe('Forwarded, X-Forwarded-* and X-Real-IP (TRUST_PROXY)', () => {
  const spoofed = {
    host: 'gateway.example.com:8443',
    forwarded: 'for=6.6.6.6;host=evil.example',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-port': '1',
    'x-forwarded-prefix': '/admin',
    'x-real-ip': '6.6.6.6',
  };
  const client = { remoteAddress: '::ffff:10.1.2.3', protocol: 'http', localPort: 8443 } as const;

  it("off (the default): a client's claims are replaced by this hop's values", () => {
    const headers = upstreamRequestHeaders(spoofed, { kind: 'none' }, client, false);
    expect(headers).toMatchObject({
      forwarded: 'for=10.1.2.3;host="gateway.example.com:8443";proto=http',
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gateway.example.com:8443',
      'x-forwarded-port': '8443',
      'x-real-ip': '10.1.2.3',
    });
    expect(headers).not.toHaveProperty('x-forwarded-prefix');
    expect(JSON.stringify(headers)).not.toContain('6.6.6.6');
  });

  it('on: Forwarded and X-Forwarded-For are appended to (RFC 7239), the rest kept as the proxy in front set them', () => {
    const headers = upstreamRequestHeaders(spoofed, { kind: 'none' }, client, true);
    expect(headers).toMatchObject({
      forwarded: 'for=6.6.6.6;host=evil.example, for=10.1.2.3;host="gateway.example.com:8443";proto=http',
      'x-forwarded-for': '6.6.6.6, 10.1.2.3',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-port': '1',
      'x-forwarded-prefix': '/admin',
      'x-real-ip': '6.6.6.6',
    });
  });

  it('on, with nothing from a proxy in front: this hop\'s values, an IPv6 client bracketed and quoted', () => {
    const headers = upstreamRequestHeaders({ host: 'gw' }, { kind: 'none' }, { remoteAddress: '2001:db8::7', protocol: 'https', localPort: 443 }, true);
    expect(headers).toMatchObject({
      forwarded: 'for="[2001:db8::7]";host=gw;proto=https',
      'x-forwarded-for': '2001:db8::7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'gw',
      'x-forwarded-port': '443',
      'x-real-ip': '2001:db8::7',
    });
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

  it.each([
    ['/proxy/.hidden/a..b/...x/%2e%2ejs/a;b=..', '/.hidden/a..b/...x/%2e%2ejs/a;b=..'],
    ['/proxy/a%25b', '/a%25b'],
    ['/proxy/;jsessionid=1', '/;jsessionid=1'],
  ])('%s is forwarded: dots or parameters in a segment that is not a dot-segment', (url, expected) => {
    expect(upstreamPathOf(url, 'proxy')).toBe(expected);
  });

  it.each([
    '/proxy/../admin',
    '/proxy/%2e%2e/admin',
    '/proxy/.%2E/admin',
    '/proxy/a/./b',
    '/proxy/a%2Fb',
    '/proxy/a%5c..',
    '/proxyx/a',
    '/other',
    '/proxy/%zz',
    // Path parameters: Tomcat and Jetty read "..;" as "..".
    '/proxy/..;/admin',
    '/proxy/..;x=1/admin',
    '/proxy/.;/admin',
    '/proxy/%2e%2e;/admin',
    '/proxy/..%3b/admin',
    '/proxy/%2e%2e%3Bjsessionid=1/admin',
    // Decoded twice or thrice by some upstreams.
    '/proxy/%252e%252e/admin',
    '/proxy/%25252e%25252e/admin',
    '/proxy/%252f/admin',
    // NUL ends the path for some upstreams; other control characters.
    '/proxy/..%00/admin',
    '/proxy/a%00b',
    '/proxy/a%0d%0aX-Injected:%201',
    '/proxy/%2500',
    // Only dots, or dots and white space (IIS and Windows trim them).
    '/proxy/.../admin',
    '/proxy/..%20/admin',
    // Overlong UTF-8 for "." (not valid UTF-8).
    '/proxy/%c0%ae%c0%ae/admin',
    // An absolute-form target is not under /proxy.
    'http://evil.test/proxy/a',
  ])('refuses %s (it could leave the upstream base path, or is not under /proxy)',
    (url) => {
      expect(upstreamPathOf(url, 'proxy')).toBeNull();
    },
  );
});
