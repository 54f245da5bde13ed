import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { VirtualTimeScheduler } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionPool,
  type Address,
  type AddressOptions,
  type ConnectionInfo,
  type Connector,
  type PoolEvent,
  type Transport,
} from '../../src/pool/index.js';
import { ConnectError, NetConnector } from '../../src/transport/index.js';
import { testCerts } from '../support/certs.js';
import { LOOPBACK, unusedPort } from '../support/local-servers.js';

/**
 * Keys and addresses are shown in `connections()`, in every event, in metrics and in error
 * messages. Whatever secret shaped a connection (key material, passphrases, proxy
 * credentials) must never appear there: these tests look for the actual secret strings.
 */

const certs = testCerts();
const pfx = randomBytes(48);
const proxyUser = `proxy-user-${randomBytes(6).toString('hex')}`;
const proxyPassword = `proxy-password-${randomBytes(6).toString('hex')}`;
const wrongPassphrase = `wrong-passphrase-${randomBytes(6).toString('hex')}`;

/** Every secret an address below carries, in each form it could leak in. */
const secrets: Record<string, string> = {
  'the client key': certs.client.key,
  'a line of the client key': certs.client.key.split('\n')[5] as string,
  'a line of the encrypted key': certs.client.encryptedKey.split('\n')[5] as string,
  'the passphrase': certs.client.passphrase,
  'a wrong passphrase': wrongPassphrase,
  'the pfx (hex)': pfx.toString('hex'),
  'the pfx (base64)': pfx.toString('base64'),
  'the proxy user': proxyUser,
  'the proxy password': proxyPassword,
  'the proxy credentials as Basic': Buffer.from(`${proxyUser}:${proxyPassword}`).toString('base64'),
};

function expectNoSecret(shown: string, where: string): void {
  for (const [name, secret] of Object.entries(secrets)) {
    expect(shown.includes(secret), `${name} appears in ${where}`).toBe(false);
  }
}

/** Every shown form of an error: message, stack, and its causes'. */
function shownError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current instanceof Error; current = current.cause) parts.push(current.message, current.stack ?? '');
  return parts.join('\n');
}

function shownEvents(events: PoolEvent[]): string {
  return JSON.stringify(events.map((event) => ('error' in event ? { ...event, error: shownError(event.error) } : event)));
}

function secretAddress(port: number, tls: AddressOptions['tls']): AddressOptions {
  return {
    host: LOOPBACK,
    port,
    tls,
    proxy: `http://${proxyUser}:${proxyPassword}@${LOOPBACK}:${port}`,
  };
}

const withKey = { cert: certs.client.cert, key: certs.client.key, ca: certs.ca.cert };
const withEncryptedKey = { cert: certs.client.cert, key: certs.client.encryptedKey, passphrase: certs.client.passphrase };
const withPfx = { pfx, passphrase: certs.client.passphrase };

const pools: ConnectionPool[] = [];

function newPool(connector: Connector, events: PoolEvent[], infos?: ConnectionInfo[][]): ConnectionPool {
  const pool = new ConnectionPool({ connector, scheduler: new VirtualTimeScheduler(), connectTimeout: 100 });
  pool.events$.subscribe((event) => {
    events.push(event);
    if (event.type === 'connect-start') infos?.push(pool.connections());
  });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close({ timeout: 1 })));
});

describe('no secret is ever shown', () => {
  it.each([
    ['a client key', withKey],
    ['an encrypted key and its passphrase', withEncryptedKey],
    ['a pfx and its passphrase', withPfx],
  ])('with %s and proxy credentials: not in the key, String(address), connections() or events', async (_name, tls) => {
    const seen: Address[] = [];
    const connector: Connector = {
      async connect(address): Promise<Transport> {
        seen.push(address);
        return { close: () => undefined };
      },
    };
    const events: PoolEvent[] = [];
    const pool = newPool(connector, events);
    const lease = await pool.acquire(secretAddress(8443, tls));
    const whileLeased = pool.connections();
    lease.release();

    const address = seen[0] as Address;
    // The connector gets the secrets (it needs them); nothing it shows contains them.
    expect(address.proxy?.password).toBe(proxyPassword);
    expectNoSecret(address.key, 'the address key');
    expectNoSecret(String(address), 'String(address)');
    expectNoSecret(JSON.stringify(address), 'JSON.stringify(address)');
    expectNoSecret(inspect(address, { depth: 10 }), 'util.inspect(address), as console.log shows it');
    expectNoSecret(JSON.stringify([whileLeased, pool.connections()]), 'connections()');
    expectNoSecret(shownEvents(events), 'the events');
    expect(events.map((event) => event.type)).toEqual(['connect-start', 'connect-end', 'connection-acquired', 'connection-released']);
  });

  it('not in a real connect failure through a proxy: error, cause, events, connections() while connecting', async () => {
    const port = await unusedPort();
    const events: PoolEvent[] = [];
    const infos: ConnectionInfo[][] = [];
    const pool = newPool(new NetConnector(), events, infos);
    const error = await pool.acquire(secretAddress(port, withEncryptedKey)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe('ECONNREFUSED');
    expect((error as ConnectError).message).toContain(`via http://${LOOPBACK}:${port}`);
    expectNoSecret(shownError(error), 'the error');
    expectNoSecret(inspect(error, { depth: 10 }), 'util.inspect(error), as a logger shows it');
    expectNoSecret((error as ConnectError).target, 'error.target');
    expectNoSecret(shownEvents(events), 'the events');
    expect(infos[0]?.[0]?.state).toBe('connecting');
    expectNoSecret(JSON.stringify(infos), 'connections() while connecting');
  });

  it('not in the error for a key that the passphrase does not open', async () => {
    const port = await unusedPort();
    const events: PoolEvent[] = [];
    const pool = newPool(new NetConnector(), events);
    const error = await pool
      .acquire({ host: LOOPBACK, port, tls: { cert: certs.client.cert, key: certs.client.encryptedKey, passphrase: wrongPassphrase } })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe('ERR_OSSL_BAD_DECRYPT');
    expect((error as ConnectError).message).toContain('check tls.passphrase');
    expectNoSecret(shownError(error), 'the error');
    expectNoSecret(shownEvents(events), 'the events');
    expect(pool.connectionCount()).toBe(0);
  });

  it("not in the pool's own errors: connect timeout, abort", async () => {
    const never: Connector = { connect: () => new Promise<Transport>(() => undefined) };
    const events: PoolEvent[] = [];
    const scheduler = new VirtualTimeScheduler();
    const pool = new ConnectionPool({ connector: never, scheduler, connectTimeout: 100 });
    pools.push(pool);
    pool.events$.subscribe((event) => events.push(event));

    const timedOut = pool.acquire(secretAddress(8443, withKey)).catch((caught: unknown) => caught);
    scheduler.flush();
    const controller = new AbortController();
    const aborted = pool.acquire(secretAddress(8443, withPfx), { signal: controller.signal }).catch((caught: unknown) => caught);
    controller.abort();

    expect(await timedOut).toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
    expect(await aborted).toMatchObject({ code: 'ERR_ACQUIRE_ABORTED' });
    expectNoSecret(shownError(await timedOut), 'the connect timeout error');
    expectNoSecret(shownError(await aborted), 'the abort error');
    expectNoSecret(shownEvents(events), 'the events');
  });

  it('not in the error for an address that cannot be parsed', async () => {
    const pool = newPool({ connect: () => Promise.reject(new Error('unused')) }, []);
    const error = await pool.acquire(`ftp://${proxyUser}:${proxyPassword}@example.test/`).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    expectNoSecret(shownError(error), 'the error');
  });
});
