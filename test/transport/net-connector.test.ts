import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool, type AddressOptions } from '../../src/pool/index.js';
import { ConnectError, NetConnector, SocketTransport, createNetConnector } from '../../src/transport/index.js';
import { testCerts } from '../support/certs.js';
import { LOOPBACK, startTcpServer, type LocalServer } from '../support/local-servers.js';

let pool: ConnectionPool | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

function poolWith(connector: NetConnector): ConnectionPool {
  pool = new ConnectionPool({ connector, connectTimeout: '5s' });
  return pool;
}

afterEach(async () => {
  await pool?.close({ timeout: '1s' });
  pool = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('NetConnector options', () => {
  it('are checked when the connector is made, naming the option and the value', () => {
    expect(() => new NetConnector({ noDelay: 'yes' } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'noDelay' }));
    expect(() => new NetConnector({ tcpKeepAliveInitialDelay: '-1s' } as never)).toThrow(/tcpKeepAliveInitialDelay/);
    expect(() => new NetConnector({ autoSelectFamilyAttemptTimeout: 0 })).toThrow(/autoSelectFamilyAttemptTimeout/);
    expect(() => new NetConnector({ lookup: 'dns' } as never)).toThrow(/lookup/);
    expect(() => new NetConnector({ connectTimeout: '1s' } as never)).toThrow(/"connectTimeout".*check the spelling/);
    expect(createNetConnector({ noDelay: false, tcpKeepAlive: false })).toBeInstanceOf(NetConnector);
  });
});

describe('what the address says, the socket does', () => {
  let server: LocalServer;

  beforeEach(async () => {
    server = await startTcpServer();
    cleanups.push(() => server.close());
  });

  it('binds localAddress', async () => {
    const lease = await poolWith(new NetConnector()).acquire({ host: LOOPBACK, port: server.port, localAddress: LOOPBACK });
    expect((lease.transport as SocketTransport).socket.localAddress).toBe(LOOPBACK);
    lease.release();
  });

  it('resolves with the family asked for, through the lookup given', async () => {
    const asked: Array<number | undefined> = [];
    const lookup: net.LookupFunction = (_hostname, options, callback) => {
      asked.push(options.family as number | undefined);
      if (options.all) (callback as unknown as (error: null, all: Array<{ address: string; family: number }>) => void)(null, [{ address: LOOPBACK, family: 4 }]);
      else callback(null, LOOPBACK, 4);
    };
    const lease = await poolWith(new NetConnector({ lookup })).acquire({ host: 'origin.example.test', port: server.port, family: 4 });
    expect(asked).toEqual([4]);
    expect((lease.transport as SocketTransport).socket.remoteAddress).toBe(LOOPBACK);
    lease.release();
  });

  it('uses Happy Eyeballs (every resolved address is asked for) unless autoSelectFamily is false', async () => {
    const askedForAll: boolean[] = [];
    const lookup: net.LookupFunction = (_hostname, options, callback) => {
      askedForAll.push(options.all === true);
      if (options.all) (callback as unknown as (error: null, all: Array<{ address: string; family: number }>) => void)(null, [{ address: LOOPBACK, family: 4 }]);
      else callback(null, LOOPBACK, 4);
    };
    const address = `tcp://origin.example.test:${server.port}`;
    const eyeballs = new ConnectionPool({ connector: new NetConnector({ lookup }) });
    const single = new ConnectionPool({ connector: new NetConnector({ lookup, autoSelectFamily: false }) });
    (await eyeballs.acquire(address)).release();
    (await single.acquire(address)).release();
    await Promise.all([eyeballs.close(), single.close()]);
    expect(askedForAll).toEqual([true, false]);
  });

  it('a name that does not resolve: ENOTFOUND, naming the address', async () => {
    const lookup: net.LookupFunction = (hostname, _options, callback) =>
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo' }), '', 4);
    const error = (await poolWith(new NetConnector({ lookup }))
      .acquire(`tcp://nowhere.example.test:${server.port}`)
      .catch((caught: unknown) => caught)) as ConnectError;
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe('ENOTFOUND');
    expect(error.message).toContain(`tcp://nowhere.example.test:${server.port}`);
    expect(error.message).toContain('does not resolve');
  });
});

describe('Unix domain sockets (socketPath)', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'rcp-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  });

  async function listenOn(server: net.Server, path: string): Promise<void> {
    server.listen(path);
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  }

  it('connects to socketPath, the host naming the origin', async () => {
    const path = join(directory, 'plain.sock');
    const server = net.createServer((socket) => socket.end('hello over unix'));
    await listenOn(server, path);
    const lease = await poolWith(new NetConnector()).acquire({ host: 'origin.example.test', port: 80, socketPath: path });
    const socket = (lease.transport as SocketTransport).attach();
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('hello over unix');
    lease.noNewExchanges();
    lease.release();
  });

  it('runs TLS over socketPath, verifying the certificate against the host', async () => {
    const certs = testCerts();
    const path = join(directory, 'tls.sock');
    const server = tls.createServer({ cert: certs.server.cert, key: certs.server.key }, (socket) => socket.end('hello over tls'));
    await listenOn(server, path);
    const address: AddressOptions = { host: 'localhost', port: 443, socketPath: path, tls: { ca: certs.ca.cert } };
    const lease = await poolWith(new NetConnector()).acquire(address);
    const socket = (lease.transport as SocketTransport).attach() as tls.TLSSocket;
    expect(socket.authorized).toBe(true);
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('hello over tls');
    lease.noNewExchanges();
    lease.release();

    const mismatch = await pool?.acquire({ ...address, host: 'other.example.test' }).catch((caught: unknown) => caught);
    expect(mismatch).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});

describe('ConnectError', () => {
  it('takes the code of a Happy Eyeballs AggregateError from the attempts in it', () => {
    const attempts = [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' })];
    const error = new ConnectError('tcp://origin.example.test:1', new AggregateError(attempts, 'every address failed'));
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toMatch(/^Could not connect to tcp:\/\/origin\.example\.test:1: every address failed\. Nothing accepts/);
  });

  it('gives the same advice for a refused handshake whichever OpenSSL names the alert (3.0: sslv3, 3.2 and later: ssl/tls)', () => {
    for (const code of ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE']) {
      const error = new ConnectError('tls://origin.example.test:443', Object.assign(new Error('alert handshake failure'), { code }));
      expect(error.code).toBe(code);
      expect(error.message).toContain('The server refused the handshake: check tls.ciphers, the TLS versions, and the client certificate.');
    }
  });

  it('says ERR_CONNECT_FAILED when Node gave no code', () => {
    expect(new ConnectError('tcp://origin.example.test:1', new Error('odd')).code).toBe('ERR_CONNECT_FAILED');
  });
});
