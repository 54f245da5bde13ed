import { inspect } from 'node:util';
import * as http from 'node:http';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PooledAgent } from '../../src/http/index.js';
import { AddressResolver, ConnectionPool, type Address, type Connector } from '../../src/pool/index.js';

/**
 * Fuzzing of what `acquire()` accepts: URL strings (malformed, huge, unicode, IPv6 with zone
 * ids, credentials, odd separators), `URL` objects, `{ host, port, ... }` objects with any value
 * in any field, and anything else. Each gives a valid Address or `ERR_INVALID_ADDRESS`, never
 * another exception; and no secret (a URL's password, a proxy's credentials, TLS key material)
 * ever appears in an error, in an address's `toString()`, key, JSON or inspection.
 *
 * The reference for URL strings is the WHATWG URL parser (`new URL`), which docs/architecture.md names as
 * the input format: a string parses there, with one of the four schemes and a host (and a port
 * for tcp:/tls:), exactly when the pool accepts it; and the host is the one the parser gives
 * (for tcp:/tls:, the one it gives the same host under http:).
 */

class NoConnectError extends Error {
  readonly code = 'E_NO_CONNECT';
}
const refusing: Connector = { connect: () => Promise.reject(new NoConnectError('no connects in this test')) };
const pool = new ConnectionPool({ connector: refusing });
afterAll(() => pool.close());

const SCHEMES = ['http:', 'https:', 'tcp:', 'tls:'];

// Secrets are made of two halves in a marker alphabet (upper case, never produced by the host or
// path generators), so that a leaked half, or the whole, is found by a plain substring search.
const secretHalf = fc.stringMatching(/^[A-Z]{6}$/).map((s) => `QX${s}`);
const secret = fc.tuple(secretHalf, fc.constantFrom('', '@', '/', ':', '#', '?', '%40', '%2F', 'é', ' ', '\\'), secretHalf).map(([a, middle, b]) => ({
  text: `${a}${middle}${b}`,
  halves: [a, b] as const,
}));

const host = fc.oneof(
  fc.domain(),
  fc.constantFrom(
    '127.0.0.1',
    '0x7f.1',
    '127.1',
    '256.1.1.1',
    '[::1]',
    '[fe80::1%25eth0]',
    '[fe80::1%eth0]',
    '[FE80::A]',
    '::1',
    '[::ffff:127.0.0.1]',
    'bücher.example',
    'xn--bcher-kva.example',
    '例え.テスト',
    '💥.test',
    'a'.repeat(300),
    `${'label.'.repeat(60)}test`,
    '',
    ' ',
    'a b',
    'a\u0000b',
    'host:with:colons',
    '%zz',
    '%41%42',
    'localhost.',
    '.',
  ),
);
const port = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 65_535 }).map((n) => `:${n}`),
  fc.constantFrom(':', ':0', ':65536', ':99999', ':-1', ':abc', ':080', `:${'9'.repeat(30)}`, ': 80', ':８０'),
);
const rest = fc.constantFrom('', '/', '/path?q=1#frag', '?token=abc', '#x', '/%00', '/ spaces ', `/${'p'.repeat(3000)}`);
const separator = fc.constantFrom('//', '\\\\', '/\\', '\\/', '', '///', '//\t', ' //');
/** Separators after which a reader sees an authority with credentials, whatever the parser does. */
const AUTHORITY_SEPARATORS = new Set(['//', '\\\\', '/\\', '\\/', '///', '//\t', ' //']);

interface GeneratedUrl {
  readonly input: string;
  /** The password the generator placed, if any. */
  readonly secret?: { readonly text: string; readonly halves: readonly [string, string] };
  readonly authorityForm: boolean;
}

const urlString: fc.Arbitrary<GeneratedUrl> = fc
  .record({
    scheme: fc.oneof(fc.constantFrom(...SCHEMES), fc.constantFrom('HTTP:', 'Https:', 'ftp:', 'ws:', 'file:', 'mailto:', 'foo:', 'h ttp:', ':', '1http:', 'http+unix:', 'tcp')),
    separator,
    user: fc.constantFrom('', 'user', 'us%40er', 'ü'),
    password: fc.option(secret, { nil: undefined }),
    host,
    port,
    rest,
  })
  .map(({ scheme, separator: sep, user, password, host: h, port: p, rest: r }) => {
    const userinfo = password !== undefined ? `${user}:${password.text}@` : user !== '' ? `${user}@` : '';
    return {
      input: `${scheme}${sep}${userinfo}${h}${p}${r}`,
      ...(password !== undefined ? { secret: password } : {}),
      authorityForm: AUTHORITY_SEPARATORS.has(sep),
    };
  });

/** Everything that must never show a secret: the error, or the address and all its renderings. */
function shownForms(outcome: { error?: unknown; address?: Address }): string[] {
  if (outcome.address !== undefined) {
    const a = outcome.address;
    return [String(a), a.key, JSON.stringify(a), inspect(a, { depth: 5 }), a.host];
  }
  const e = outcome.error as Error;
  return [e.message, String(e.stack), String(e), inspect(e, { depth: 5 })];
}

function resolveOutcome(input: unknown): { error?: unknown; address?: Address } {
  try {
    return { address: new AddressResolver().resolve(input as never) };
  } catch (error) {
    return { error };
  }
}

/** What the WHATWG parser makes of `input`, the reference. */
function reference(input: string): URL | undefined {
  try {
    return new URL(input);
  } catch {
    return undefined;
  }
}

function expectInvalidAddress(error: unknown): void {
  expect(error).toBeInstanceOf(Error);
  expect((error as { code?: unknown }).code).toBe('ERR_INVALID_ADDRESS');
  expect((error as Error).message).toMatch(/^Invalid address: /);
}

function expectNoSecret(forms: readonly string[], secretText: readonly string[]): void {
  for (const form of forms) for (const s of secretText) if (s.length >= 4) expect(form).not.toContain(s);
}

describe('addresses and URLs under fuzzing (fast-check)', () => {
  it('URL strings: a valid Address exactly when the WHATWG parser gives one of the four schemes and a host, else ERR_INVALID_ADDRESS; never a password shown', async () => {
    await fc.assert(
      fc.asyncProperty(urlString, async ({ input, secret: placed, authorityForm }) => {
        const url = reference(input);
        const outcome = resolveOutcome(input);
        // The secrets to look for: the password as the parser read it, or, where it could not
        // parse, the one the generator placed after an authority separator.
        const secrets: string[] = [];
        if (url !== undefined && url.password !== '') secrets.push(url.password, decodeURIComponent(url.password));
        if (url === undefined && placed !== undefined && authorityForm) secrets.push(...placed.halves);
        expectNoSecret(shownForms(outcome), secrets);

        // tcp:/tls: are not special schemes to the URL parser, which leaves their non-ASCII hosts
        // percent-encoded: the pool must resolve them as it would for http: (punycode), or
        // refuse them, never keep the encoded text no resolver knows.
        const opaqueEncoded = url !== undefined && (url.protocol === 'tcp:' || url.protocol === 'tls:') && !url.hostname.startsWith('[') && url.hostname.includes('%');
        const asHttp = opaqueEncoded ? reference(`http://${url.hostname}`)?.hostname : undefined;
        const accepted =
          url !== undefined &&
          SCHEMES.includes(url.protocol) &&
          url.hostname !== '' &&
          (url.port !== '' || url.protocol === 'http:' || url.protocol === 'https:') &&
          (!opaqueEncoded || (asHttp !== undefined && asHttp !== ''));
        if (!accepted) {
          expectInvalidAddress(outcome.error);
          await expect(pool.acquire(input)).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
          return;
        }
        expect(outcome.error).toBeUndefined();
        const address = outcome.address as Address;
        expect(address.protocol).toBe(url.protocol);
        expect(address.port).toBe(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port));
        const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
        expect(address.host).toBe((asHttp ?? bare).toLowerCase());
        expect(address.tls !== undefined).toBe(url.protocol === 'https:' || url.protocol === 'tls:');
        // A valid address reaches the connector, and the pool forgets it when the connect fails.
        await expect(pool.acquire(input)).rejects.toBeInstanceOf(NoConnectError);
      }),
      { numRuns: 3_000 },
    );
  });

  it('URL objects and fast-check web URLs (user info, IPv6, ports, queries): the same verdicts as for their text', async () => {
    const webUrl = fc.webUrl({
      validSchemes: ['http', 'https', 'ftp', 'ws'],
      withFragments: true,
      withQueryParameters: true,
      authoritySettings: { withIPv4: true, withIPv6: true, withIPv4Extended: true, withUserInfo: true, withPort: true },
    });
    await fc.assert(
      fc.asyncProperty(webUrl, async (text) => {
        const url = new URL(text);
        const fromText = resolveOutcome(text);
        const fromUrl = resolveOutcome(url);
        for (const outcome of [fromText, fromUrl]) {
          expectNoSecret(shownForms(outcome), url.password === '' ? [] : [url.password, decodeURIComponent(url.password)]);
          if (outcome.error !== undefined) expectInvalidAddress(outcome.error);
        }
        expect(fromUrl.address?.key).toBe(fromText.address?.key);
        expect(fromText.error === undefined).toBe(SCHEMES.includes(url.protocol));
      }),
      { numRuns: 1_000 },
    );
  });

  it('address objects with any value in any field: a valid Address or ERR_INVALID_ADDRESS; proxy credentials and TLS secrets never shown', async () => {
    const anyField = fc.oneof(fc.anything({ maxDepth: 1 }), fc.constantFrom(NaN, Infinity, -1, 0, 1.5, 65_536, 2 ** 53, '80', '', null));
    const objectAddress = fc.record(
      {
        host: fc.oneof(host, anyField),
        port: fc.oneof(fc.integer({ min: 1, max: 65_535 }), anyField),
        protocol: fc.oneof(fc.constantFrom(...SCHEMES, 'HTTP:', 'udp:', 'http'), anyField),
        tls: fc.oneof(fc.constantFrom(true, false), fc.record({ servername: fc.domain(), rejectUnauthorized: fc.boolean() }, { requiredKeys: [] }), anyField),
        family: fc.oneof(fc.constantFrom(0, 4, 6), anyField),
        localAddress: fc.oneof(fc.constant('127.0.0.1'), anyField),
        socketPath: fc.oneof(fc.constant('/tmp/fuzz.sock'), anyField),
        partition: fc.oneof(fc.string({ maxLength: 10 }), anyField),
      },
      { requiredKeys: [] },
    );
    const withSecrets = fc.record({
      address: objectAddress,
      proxyPassword: fc.option(secret, { nil: undefined }),
      proxyHost: fc.oneof(fc.domain(), fc.constantFrom('', '[::1]', 'a b')),
      passphrase: fc.option(secretHalf, { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(withSecrets, async ({ address, proxyPassword, proxyHost, passphrase }) => {
        const input: Record<string, unknown> = { ...address };
        const secrets: string[] = [];
        if (proxyPassword !== undefined) {
          input.proxy = `http://user:${proxyPassword.text}@${proxyHost}:3128`;
          secrets.push(...proxyPassword.halves);
        }
        if (passphrase !== undefined && typeof input.tls === 'object' && input.tls !== null) {
          input.tls = { ...(input.tls as object), passphrase, key: `-----BEGIN PRIVATE KEY-----${passphrase}` };
          secrets.push(passphrase);
        }
        const outcome = resolveOutcome(input);
        expectNoSecret(shownForms(outcome), secrets);
        if (outcome.error !== undefined) {
          // A TLS option of the wrong type is an invalid option, named (issue 12); the rest, an invalid address.
          const code = (outcome.error as { code?: unknown }).code;
          if (code === 'ERR_INVALID_OPTION') expect((outcome.error as Error).message).toMatch(/^Invalid option "tls[."]/);
          else expectInvalidAddress(outcome.error);
          await expect(pool.acquire(input as never)).rejects.toMatchObject({ code });
          return;
        }
        const resolved = outcome.address as Address;
        // What docs/architecture.md promises of a valid object address.
        expect(typeof address.host === 'string' && address.host.length > 0).toBe(true);
        expect(Number.isInteger(resolved.port) && resolved.port >= 1 && resolved.port <= 65_535).toBe(true);
        expect(SCHEMES).toContain(resolved.protocol);
        await expect(pool.acquire(input as never)).rejects.toBeInstanceOf(NoConnectError);
      }),
      { numRuns: 2_000 },
    );
  });

  it('anything else given to acquire() is ERR_INVALID_ADDRESS, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.constantFrom(null, undefined, 0, NaN, [], () => undefined, Symbol('a'), 1n)), async (input) => {
        fc.pre(typeof input !== 'string' && !(typeof input === 'object' && input !== null && !Array.isArray(input)));
        expectInvalidAddress(resolveOutcome(input).error);
        await expect(pool.acquire(input as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
      }),
      { numRuns: 500 },
    );
  });

  it("the PooledAgent's request options (host, port, family, servername...) of any shape: the request errors cleanly, the process never crashes", async () => {
    const agentPool = new ConnectionPool({ connector: refusing });
    const agent = new PooledAgent(agentPool, { protocol: 'http:' });
    const requestOptions = fc.record(
      {
        host: fc.oneof(host, fc.anything({ maxDepth: 0 })),
        port: fc.oneof(fc.integer({ min: 1, max: 65_535 }), fc.constantFrom(0, -1, 70_000, '80', 'x', NaN, null)),
        family: fc.constantFrom(undefined, 0, 4, 6, 5),
        localAddress: fc.constantFrom(undefined, '127.0.0.1', 'not an ip'),
        path: fc.constantFrom('/', '/x?y=1', '/é'),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(requestOptions, async (options) => {
        const error = await new Promise<unknown>((resolve) => {
          let req: http.ClientRequest;
          try {
            req = http.request({ ...options, agent } as http.RequestOptions, () => resolve(new Error('a response, from nowhere')));
          } catch (thrown) {
            // Node's own argument checks throw synchronously: a clear error too.
            resolve(thrown);
            return;
          }
          req.on('error', resolve);
          req.end();
        });
        const code = (error as { code?: unknown }).code;
        // ERR_INVALID_ADDRESS from the pool, the connector's refusal for a valid address, or Node's own argument errors.
        expect(typeof code).toBe('string');
        expect(String(code)).toMatch(/^(ERR_INVALID_ADDRESS|E_NO_CONNECT|ERR_INVALID_ARG_TYPE|ERR_INVALID_ARG_VALUE|ERR_INVALID_CHAR|ERR_SOCKET_BAD_PORT|ERR_INVALID_URL|ERR_UNESCAPED_CHARACTERS)$/);
      }),
      { numRuns: 500 },
    );
    expect(agentPool.stats().leases).toBe(0);
    await agentPool.close();
  });
});
