import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { AddressResolver, checkTlsOptions, type PoolEvent } from '../../src/pool/index.js';
import { NetConnector } from '../../src/transport/index.js';

let pool: ConnectionPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

function invalidOption(option: string, shown: string | RegExp): unknown {
  return expect.objectContaining({
    code: 'ERR_INVALID_OPTION',
    option,
    message: typeof shown === 'string' ? expect.stringContaining(shown) : expect.stringMatching(shown),
  });
}

describe('TLS option types are checked where they are given, naming the option and the value', () => {
  it('in an address: acquire rejects before any connect, and nothing is counted', async () => {
    pool = new ConnectionPool();
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ checkServerIdentity: 5 }, 'tls.checkServerIdentity', 'Invalid option "tls.checkServerIdentity": 5. Expected a function'],
      [{ ALPNProtocols: 'h2' }, 'tls.ALPNProtocols', `Invalid option "tls.ALPNProtocols": "h2". Expected an array of protocol names, e.g. ['h2', 'http/1.1']`],
      [{ ALPNProtocols: [] }, 'tls.ALPNProtocols', 'Expected an array of protocol names'],
      [{ ca: 42 }, 'tls.ca', 'Invalid option "tls.ca": 42. Expected PEM text or a Buffer'],
      [{ cert: [Buffer.from('x'), 7] }, 'tls.cert', 'an array'],
      [{ rejectUnauthorized: 'false' }, 'tls.rejectUnauthorized', 'Invalid option "tls.rejectUnauthorized": "false". Expected true or false'],
      [{ minVersion: 'TLSv1.4' }, 'tls.minVersion', "Expected one of 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'"],
      [{ servername: 443 }, 'tls.servername', 'Invalid option "tls.servername": 443'],
      [{ secureOptions: -1 }, 'tls.secureOptions', 'an integer of OpenSSL SSL_OP_* flags'],
      [{ key: [{ pem: 1 }] }, 'tls.key', '[hidden: an array]'],
    ];
    for (const [tls, option, shown] of cases) {
      await expect(pool.acquire({ host: '127.0.0.1', port: 443, tls })).rejects.toEqual(invalidOption(option, shown));
    }
    await expect(pool.acquire({ host: '127.0.0.1', port: 443, tls: 'yes' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    expect(events).toEqual([]);
    expect(pool.connectionCount()).toBe(0);
    expect(pool.stats()).toMatchObject({ connections: 0, waiters: 0, addresses: 0 });
  });

  it("leaves fields named like Object.prototype's alone: they are no TLS options (found by fuzzing)", () => {
    const address = new AddressResolver().resolve({ host: '127.0.0.1', port: 443, tls: { toString: 0, constructor: 1 } as never });
    expect(address.protocol).toBe('tls:');
    expect(() => checkTlsOptions('tls', { hasOwnProperty: 'x', valueOf: null })).not.toThrow();
  });

  it('never shows a secret: key, pfx and passphrase are named by the kind of value only', async () => {
    pool = new ConnectionPool();
    for (const [field, value] of [
      ['passphrase', 123456789],
      ['key', 987654321],
      ['pfx', { secret: 'hunter2-pfx' }],
    ] as const) {
      const error = (await pool.acquire({ host: '127.0.0.1', port: 443, tls: { [field]: value } }).catch((e: unknown) => e)) as Error;
      expect(error).toEqual(invalidOption(`tls.${field}`, /\[hidden: an? (number|object)\]/));
      expect(error.message).not.toMatch(/123456789|987654321|hunter2/);
    }
  });

  it('accepts every form Node takes: strings, Buffers, arrays, { pem, passphrase }, { buf, passphrase }', async () => {
    pool = new ConnectionPool({ connectTimeout: '2s' });
    const tls = {
      ca: [Buffer.from('a'), 'b'],
      cert: 'c',
      key: [{ pem: 'k', passphrase: 'p' }, Buffer.from('k2')],
      pfx: [{ buf: Buffer.from('x'), passphrase: 'p' }],
      passphrase: 'p',
      ALPNProtocols: ['h2', 'http/1.1'],
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      checkServerIdentity: () => undefined,
      secureOptions: 0,
      servername: 'example.test',
      ciphers: 'TLS_AES_128_GCM_SHA256',
      undefinedIsLeftOut: undefined,
    };
    // The options are well typed: the acquire gets as far as Node (which refuses the made-up key material).
    const error = (await pool.acquire({ host: '127.0.0.1', port: 9, tls }).catch((e: unknown) => e)) as { code?: string; name?: string };
    expect(error.code).not.toBe('ERR_INVALID_OPTION');
    expect(error.name).toBe('ConnectError');
  });

  it("in the agents' and the dispatcher's tls option, when they are made", () => {
    pool = new ConnectionPool();
    expect(() => pool!.httpsAgent({ tls: { checkServerIdentity: 5 as never } })).toThrow(invalidOption('tls.checkServerIdentity', '5'));
    expect(() => pool!.httpsAgent({ tls: 'strict' as never })).toThrow(invalidOption('tls', '"strict"'));
    expect(() => pool!.dispatcher({ tls: { ca: 5 as never } })).toThrow(invalidOption('tls.ca', '5'));
    expect(() => pool!.dispatcher({ tls: { passphrase: 1234 as never } })).toThrow(invalidOption('tls.passphrase', '[hidden: a number]'));
  });

  it("in the NetConnector's proxyTls and http2 options, when it is made", () => {
    expect(() => new NetConnector({ proxyTls: { rejectUnauthorized: 'no' as never } })).toThrow(invalidOption('proxyTls.rejectUnauthorized', '"no"'));
    expect(() => new NetConnector({ proxyTls: { ALPNProtocols: 'http/1.1' as never } })).toThrow(invalidOption('proxyTls.ALPNProtocols', '"http/1.1"'));
    expect(() => new NetConnector({ http2: { maxConcurrentStreams: '5' as never } })).toThrow(invalidOption('http2.maxConcurrentStreams', '"5"'));
    expect(() => new NetConnector({ http2: { pingInterval: 'often' } as never })).toThrow(invalidOption('http2.pingInterval', '"often"'));
    expect(() => new NetConnector({ http2: { initialWindowSize: 1 } })).toThrow(invalidOption('http2.initialWindowSize', '1'));
    expect(() => new NetConnector({ http2: { pingTimeout: -1 } })).toThrow(invalidOption('http2.pingTimeout', '-1'));
  });
});
