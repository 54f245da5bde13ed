import { randomBytes } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  ConnectionPool,
  type Address,
  type AddressInput,
  type AddressOptions,
  type Connector,
  type TlsAddressOptions,
  type Transport,
} from '../../src/pool/index.js';
import { testCerts } from '../support/certs.js';

/**
 * Reuse keys, in the spirit of curl's connection-reuse advisories (CVE-2016-5419,
 * CVE-2021-22924, CVE-2022-27782, CVE-2023-27535...): a connection made with one value of
 * an input that shapes it must never serve a request made with another value.
 *
 * Each case goes through a real ConnectionPool: acquire with A, release, acquire with B,
 * and count the connects. Each also checks the converse with an equal A made anew, so a key
 * that told everything apart would fail too.
 */

class RecordingConnector implements Connector {
  readonly connects: Address[] = [];

  async connect(address: Address): Promise<Transport> {
    this.connects.push(address);
    return { close: () => undefined };
  }
}

/** Acquires `first`, releases it, acquires `second`: did the second get the first's connection? */
async function reuses(first: AddressInput, second: AddressInput): Promise<boolean> {
  const connector = new RecordingConnector();
  const pool = new ConnectionPool({ connector, scheduler: new VirtualTimeScheduler() });
  const a = await pool.acquire(first);
  const firstId = a.connection.id;
  a.release();
  const b = await pool.acquire(second);
  const reused = b.connection.id === firstId;
  b.release();
  expect(connector.connects).toHaveLength(reused ? 1 : 2);
  await pool.close();
  return reused;
}

/** `make(x)` with two different values never share; two separately made equal values do. */
async function expectSeparated<T>(make: (value: T) => AddressInput, one: T, other: T, oneAgain: T = one): Promise<void> {
  expect(await reuses(make(one), make(other)), 'a connection made with one value served a request with another').toBe(false);
  expect(await reuses(make(one), make(oneAgain)), 'equal inputs should share a connection').toBe(true);
}

const tlsAddress =
  (name: keyof TlsAddressOptions | string) =>
  (value: unknown): AddressOptions => ({ host: 'api.example.test', port: 8443, tls: { [name]: value } as TlsAddressOptions });

const options =
  (name: keyof AddressOptions) =>
  (value: unknown): AddressOptions => ({ host: 'api.example.test', port: 8080, [name]: value });

describe('address keys: a connection serves only requests whose every connection-shaping input is equal', () => {
  it('scheme: http: and https:, tcp: and tls:, http: and tcp: never share', async () => {
    await expectSeparated((scheme: string) => `${scheme}//api.example.test:8443`, 'http:', 'https:');
    await expectSeparated((scheme: string) => `${scheme}//api.example.test:8443`, 'tcp:', 'tls:');
    await expectSeparated((scheme: string) => `${scheme}//api.example.test:8443`, 'http:', 'tcp:');
  });

  it('a cleartext connection never serves a request that requires TLS', async () => {
    expect(await reuses('http://api.example.test:443', 'https://api.example.test:443')).toBe(false);
    expect(await reuses({ host: 'api.example.test', port: 443 }, { host: 'api.example.test', port: 443, tls: true })).toBe(false);
    expect(await reuses('tcp://api.example.test:443', { host: 'api.example.test', port: 443, tls: {} })).toBe(false);
  });

  it('host (compared without case, as DNS does)', async () => {
    await expectSeparated((host: string) => `https://${host}`, 'a.example.test', 'b.example.test', 'A.Example.TEST');
  });

  it('port, including a default port against an explicit other one', async () => {
    await expectSeparated((port: string) => `https://api.example.test${port}`, ':8443', ':9443');
    await expectSeparated((port: string) => `https://api.example.test${port}`, '', ':8443', ':443');
  });

  it('servername (SNI)', async () => {
    await expectSeparated(tlsAddress('servername'), 'a.example.test', 'b.example.test');
    expect(await reuses(tlsAddress('servername')('a.example.test'), { host: 'api.example.test', port: 8443, tls: {} })).toBe(false);
  });

  it('ALPN protocols, so an HTTP/1.1 connection never serves a request that asked for h2', async () => {
    await expectSeparated(tlsAddress('ALPNProtocols'), ['http/1.1'], ['h2', 'http/1.1'], ['http/1.1']);
    await expectSeparated(tlsAddress('ALPNProtocols'), ['h2', 'http/1.1'], ['http/1.1', 'h2'], ['h2', 'http/1.1']);
  });

  it('ca: another trust anchor is another connection', async () => {
    const { ca, otherCa } = testCerts();
    await expectSeparated(tlsAddress('ca'), ca.cert, otherCa.cert);
    await expectSeparated(tlsAddress('ca'), [ca.cert], [ca.cert, otherCa.cert], [ca.cert]);
    // The same bytes in another Buffer are the same CA.
    await expectSeparated(tlsAddress('ca'), Buffer.from(ca.cert), Buffer.from(otherCa.cert), Buffer.from(ca.cert));
  });

  it('cert (client identity)', async () => {
    const { client, server } = testCerts();
    await expectSeparated(tlsAddress('cert'), client.cert, server.cert);
    expect(await reuses(tlsAddress('cert')(client.cert), { host: 'api.example.test', port: 8443, tls: {} })).toBe(false);
  });

  it('key (client identity)', async () => {
    const { client, server } = testCerts();
    await expectSeparated(tlsAddress('key'), client.key, server.key);
    await expectSeparated(tlsAddress('key'), [{ pem: client.key }], [{ pem: server.key }]);
  });

  it('pfx (client identity)', async () => {
    const one = randomBytes(64);
    await expectSeparated(tlsAddress('pfx'), one, randomBytes(64), Buffer.from(one));
    await expectSeparated(tlsAddress('pfx'), [{ buf: one, passphrase: 'x' }], [{ buf: one, passphrase: 'y' }]);
  });

  it('passphrase', async () => {
    const { client } = testCerts();
    await expectSeparated(
      (passphrase: string) => ({ host: 'api.example.test', port: 8443, tls: { key: client.encryptedKey, passphrase } }),
      client.passphrase,
      `${client.passphrase}-other`,
    );
    await expectSeparated(tlsAddress('key'), [{ pem: client.encryptedKey, passphrase: 'one' }], [{ pem: client.encryptedKey, passphrase: 'two' }]);
  });

  it('ciphers', async () => {
    await expectSeparated(tlsAddress('ciphers'), 'TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256');
  });

  it('minVersion and maxVersion', async () => {
    await expectSeparated(tlsAddress('minVersion'), 'TLSv1.2', 'TLSv1.3');
    await expectSeparated(tlsAddress('maxVersion'), 'TLSv1.2', 'TLSv1.3');
  });

  it('rejectUnauthorized: a connection that skipped verification never serves one that requires it', async () => {
    await expectSeparated(tlsAddress('rejectUnauthorized'), true, false);
    expect(await reuses(tlsAddress('rejectUnauthorized')(false), { host: 'api.example.test', port: 8443, tls: {} })).toBe(false);
  });

  it('checkServerIdentity: only the same function object is the same check', async () => {
    const check = (): undefined => undefined;
    const lookalike = (): undefined => undefined;
    await expectSeparated(tlsAddress('checkServerIdentity'), check, lookalike);
    expect(await reuses(tlsAddress('checkServerIdentity')(check), { host: 'api.example.test', port: 8443, tls: {} })).toBe(false);
  });

  it('secureContext and other objects whose state is hidden: only the same object is the same input', async () => {
    const { ca, otherCa } = testCerts();
    const trusting = createSecureContext({ ca: ca.cert });
    await expectSeparated(tlsAddress('secureContext'), trusting, createSecureContext({ ca: otherCa.cert }));
    await expectSeparated(tlsAddress('secureContext'), trusting, createSecureContext({ ca: ca.cert }));
  });

  it('proxy URL: another proxy, another proxy port, or none', async () => {
    await expectSeparated(options('proxy'), 'http://proxy-a.test:3128', 'http://proxy-b.test:3128', new URL('http://proxy-a.test:3128'));
    await expectSeparated(options('proxy'), 'http://proxy-a.test:3128', 'http://proxy-a.test:3129');
    await expectSeparated(options('proxy'), 'http://proxy-a.test:3128', 'https://proxy-a.test:3128');
    expect(await reuses(options('proxy')('http://proxy-a.test:3128'), { host: 'api.example.test', port: 8080 })).toBe(false);
  });

  it('proxy credentials: another user, another password, or none', async () => {
    await expectSeparated(options('proxy'), 'http://alice:one@proxy.test:3128', 'http://alice:two@proxy.test:3128');
    await expectSeparated(options('proxy'), 'http://alice:one@proxy.test:3128', 'http://bob:one@proxy.test:3128');
    await expectSeparated(options('proxy'), 'http://alice:one@proxy.test:3128', 'http://proxy.test:3128');
    await expectSeparated(options('proxy'), 'http://alice:o%3Ane@proxy.test:3128', 'http://alice%3Ao:ne@proxy.test:3128');
  });

  it('localAddress', async () => {
    await expectSeparated(options('localAddress'), '127.0.0.1', '127.0.0.2');
    expect(await reuses(options('localAddress')('127.0.0.1'), { host: 'api.example.test', port: 8080 })).toBe(false);
  });

  it('family', async () => {
    await expectSeparated(options('family'), 4, 6);
    await expectSeparated(options('family'), 4, undefined);
  });

  it('socketPath', async () => {
    await expectSeparated(options('socketPath'), '/run/a.sock', '/run/b.sock');
    expect(await reuses(options('socketPath')('/run/a.sock'), { host: 'api.example.test', port: 8080 })).toBe(false);
  });

  it('an IPv6 zone id: the same link-local address on another interface is another host', async () => {
    const host = (zone: string): AddressOptions => ({ host: `fe80::1${zone}`, port: 8080 });
    await expectSeparated(host, '%eth0', '%eth1');
    await expectSeparated(host, '%eth0', '');
    // Interface names are case-sensitive, unlike the address before them.
    await expectSeparated(host, '%eth0', '%ETH0');
    expect(await reuses({ host: 'FE80::1%eth0', port: 8080 }, { host: '[fe80::1%eth0]', port: 8080 })).toBe(true);
  });

  it('an input changed after the address was made does not change what that address connects with', async () => {
    const { ca, otherCa } = testCerts();
    const trusted = [ca.cert];
    const connector = new RecordingConnector();
    const pool = new ConnectionPool({ connector, scheduler: new VirtualTimeScheduler() });
    const lease = await pool.acquire({ host: 'api.example.test', port: 8443, tls: { ca: trusted } });
    trusted.push(otherCa.cert);
    expect(connector.connects[0]?.tls?.ca).toEqual([ca.cert]);
    lease.release();
    await pool.close();
  });
});
