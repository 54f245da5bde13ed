import { once } from 'node:events';
import type { LookupFunction } from 'node:net';
import { TLSSocket, type TlsOptions } from 'node:tls';
import { inspect } from 'node:util';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool, type AddressOptions, type Lease, type PoolEvent, type TlsAddressOptions } from '../../src/pool/index.js';
import { ConnectError, NetConnector, SocketTransport, type NetConnectorOptions } from '../../src/transport/index.js';
import { testCerts } from '../support/certs.js';
import { LOOPBACK, startTcpServer, startTlsServer, type LocalServer } from '../support/local-servers.js';
import { activeResources, waitFor } from '../support/wait-for.js';

const certs = testCerts();
const servers: LocalServer[] = [];
let pool: ConnectionPool;
let events: PoolEvent[];

async function tlsServer(options: TlsOptions = {}): Promise<LocalServer> {
  const server = await startTlsServer({ cert: certs.server.cert, key: certs.server.key, ...options });
  servers.push(server);
  return server;
}

function newPool(connectorOptions?: NetConnectorOptions): ConnectionPool {
  const made = new ConnectionPool({ connector: new NetConnector(connectorOptions), connectTimeout: '5s' });
  made.events$.subscribe((event) => events.push(event));
  return made;
}

function tlsTo(server: LocalServer, tls: TlsAddressOptions = {}): AddressOptions {
  return { host: LOOPBACK, port: server.port, tls: { ca: certs.ca.cert, ...tls } };
}

function transportOf(lease: Lease): SocketTransport {
  expect(lease.transport).toBeInstanceOf(SocketTransport);
  return lease.transport as SocketTransport;
}

async function roundTrip(lease: Lease, peer: Promise<import('node:net').Socket>): Promise<string> {
  const transport = transportOf(lease);
  const socket = transport.attach();
  const serverSide = await peer;
  socket.write('ping');
  const [request] = (await once(serverSide, 'data')) as [Buffer];
  serverSide.write(`pong:${request.toString()}`);
  const [response] = (await once(socket, 'data')) as [Buffer];
  expect(transport.detach()).toBe(true);
  return response.toString();
}

async function failure(address: AddressOptions): Promise<ConnectError> {
  const error = await pool.acquire(address).then(
    () => {
      throw new Error('the connect should have failed');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

beforeEach(() => {
  events = [];
  pool = newPool();
});

afterEach(async () => {
  await pool.close({ timeout: '1s' });
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('TLS connections made by the NetConnector', () => {
  it('verifies the server against tls.ca, carries bytes, and reuses the connection', async () => {
    const server = await tlsServer();
    const first = await pool.acquire(tlsTo(server));
    const socket = transportOf(first).socket;
    expect(socket).toBeInstanceOf(TLSSocket);
    expect((socket as TLSSocket).authorized).toBe(true);
    expect(await roundTrip(first, server.acceptedAt(0))).toBe('pong:ping');
    first.release();

    const second = await pool.acquire(tlsTo(server));
    expect(second.connection.id).toBe(first.connection.id);
    expect(await roundTrip(second, server.acceptedAt(0))).toBe('pong:ping');
    second.release();
    expect(server.accepted).toHaveLength(1);
  });

  it('sends SNI: the host name by default, tls.servername when given, nothing for an IP literal', async () => {
    const server = await tlsServer();
    // Resolves every name to loopback, so that a host name can be used without leaving it.
    const loopbackOnly: LookupFunction = (_hostname, options, callback) => {
      if (options.all) (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: LOOPBACK, family: 4 }]);
      else callback(null, LOOPBACK, 4);
    };
    await pool.close();
    pool = newPool({ lookup: loopbackOnly });

    const byName = await pool.acquire({ host: 'localhost', port: server.port, tls: { ca: certs.ca.cert } });
    const byServername = await pool.acquire(tlsTo(server, { servername: 'localhost' }));
    const byIp = await pool.acquire(tlsTo(server));
    const seen = await Promise.all([0, 1, 2].map(async (index) => ((await server.acceptedAt(index)) as TLSSocket).servername));
    expect(seen).toEqual(['localhost', 'localhost', false]);
    for (const lease of [byName, byServername, byIp]) lease.release();
  });

  it('shows the protocol ALPN negotiated on the transport', async () => {
    const server = await tlsServer({ ALPNProtocols: ['h2', 'http/1.1'] });
    const http11 = await pool.acquire(tlsTo(server, { ALPNProtocols: ['http/1.1'] }));
    const h2 = await pool.acquire(tlsTo(server, { ALPNProtocols: ['h2', 'http/1.1'] }));
    const none = await pool.acquire(tlsTo(server));
    expect(transportOf(http11).alpnProtocol).toBe('http/1.1');
    expect(transportOf(h2).alpnProtocol).toBe('h2');
    expect(transportOf(none).alpnProtocol).toBeNull();
    for (const lease of [http11, h2, none]) lease.release();
  });

  it('evicts an idle TLS connection the server closed (peer-closed)', async () => {
    const server = await tlsServer();
    const lease = await pool.acquire(tlsTo(server));
    lease.release();
    const closed = firstValueFrom(pool.events$.pipe(filter((event) => event.type === 'connection-closed'), timeout(3_000)));
    (await server.acceptedAt(0)).end();
    expect(await closed).toMatchObject({ reason: 'peer-closed' });
    expect(pool.connectionCount()).toBe(0);
  });

  it('leaves no TLS socket open after pool.close()', async () => {
    const server = await tlsServer();
    const leases = await Promise.all([pool.acquire(tlsTo(server)), pool.acquire(tlsTo(server))]);
    const transports = leases.map(transportOf);
    for (const lease of leases) lease.release();
    await pool.close();
    expect(transports.every((transport) => transport.socket.destroyed)).toBe(true);
    await waitFor(async () => (await server.connectionCount()) === 0, 'the server to count no open connection');
  });
});

describe('TLS failures: a clear error with Node’s code, and nothing left in the pool', () => {
  const cases = [
    {
      name: 'a server certificate from a CA the client does not trust',
      serverCert: certs.server,
      tls: { ca: certs.otherCa.cert },
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      advice: 'tls.ca',
    },
    {
      name: 'an expired server certificate',
      serverCert: certs.expired,
      tls: {},
      code: 'CERT_HAS_EXPIRED',
      advice: 'has expired',
    },
    {
      name: 'a server certificate for another host name',
      serverCert: certs.wrongHost,
      tls: { servername: 'localhost' },
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      advice: 'tls.servername',
    },
  ];

  for (const { name, serverCert, tls, code, advice } of cases) {
    it(`${name}: ${code}`, async () => {
      const server = await tlsServer({ cert: serverCert.cert, key: serverCert.key });
      const socketsBefore = activeResources('TCPSocketWrap');
      const error = await failure(tlsTo(server, tls));

      expect(error.code).toBe(code);
      expect((error.cause as NodeJS.ErrnoException).code).toBe(code);
      expect(error.message).toContain(`tls://127.0.0.1:${server.port}`);
      expect(error.message).toContain(advice);
      expect(pool.connectionCount()).toBe(0);
      expect(events.map((event) => event.type)).toEqual(['connect-start', 'connect-failed']);
      await waitFor(() => activeResources('TCPSocketWrap') <= socketsBefore, 'the failed socket to close');
      await waitFor(async () => (await server.connectionCount()) === 0, 'the server to see the connection closed');
    });
  }

  it('a cleartext server on a TLS address: the handshake error says to check the protocol', async () => {
    const server = await startTcpServer();
    servers.push(server);
    server.server.on('connection', (socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const error = await failure({ host: LOOPBACK, port: server.port, tls: true });
    expect(error.code).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
    expect(error.message).toContain('speaks TLS');
    expect(pool.connectionCount()).toBe(0);
  });
});

describe('mutual TLS', () => {
  const requireClientCert: TlsOptions = { requestCert: true, rejectUnauthorized: true, ca: certs.ca.cert };

  async function clientName(server: LocalServer, index: number): Promise<string> {
    const serverSide = (await server.acceptedAt(index)) as TLSSocket;
    return String(serverSide.getPeerCertificate().subject.CN);
  }

  it('presents the client certificate the address carries', async () => {
    const server = await tlsServer(requireClientCert);
    const lease = await pool.acquire(tlsTo(server, { cert: certs.client.cert, key: certs.client.key }));
    expect(await clientName(server, 0)).toBe('test-client');
    expect(await roundTrip(lease, server.acceptedAt(0))).toBe('pong:ping');
    lease.release();
  });

  it('decrypts a client key with tls.passphrase, and never shows either', async () => {
    const server = await tlsServer(requireClientCert);
    const lease = await pool.acquire(
      tlsTo(server, { cert: certs.client.cert, key: certs.client.encryptedKey, passphrase: certs.client.passphrase }),
    );
    expect(await clientName(server, 0)).toBe('test-client');
    // Node keeps the TLS options on the socket: what a logger shows of the transport must not.
    const shown = inspect(lease.transport, { depth: 10 });
    expect(shown).toBe(`SocketTransport<tls://127.0.0.1:${server.port}#${String(transportOf(lease).address).split('#')[1]} idle>`);
    expect(shown).not.toContain(certs.client.passphrase);
    lease.release();
  });

  it('without a client certificate the server refuses the handshake (TLS 1.2: before the connect completes)', async () => {
    const server = await tlsServer(requireClientCert);
    const error = await failure(tlsTo(server, { maxVersion: 'TLSv1.2' }));
    // OpenSSL 3.2 and later (Node 24) say "ssl/tls alert" where OpenSSL 3.0 (Node 20) says "sslv3 alert".
    expect(error.code).toMatch(/^ERR_SSL_SSL(V3|\/TLS)_ALERT_HANDSHAKE_FAILURE$/);
    expect(error.message).toContain('client certificate');
    expect(error.message).toContain(`tls://127.0.0.1:${server.port}`);
    expect(pool.connectionCount()).toBe(0);
  });

  it('without a client certificate under TLS 1.3 the refusal comes after the handshake: the connection is evicted, no crash', async () => {
    const server = await tlsServer(requireClientCert);
    const closed = firstValueFrom(pool.events$.pipe(filter((event) => event.type === 'connection-closed'), timeout(3_000)));
    const lease = await pool.acquire(tlsTo(server, { minVersion: 'TLSv1.3' }));
    const transport = transportOf(lease);
    lease.release();

    expect(await closed).toMatchObject({ reason: 'peer-closed' });
    expect((transport.error as NodeJS.ErrnoException | null)?.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    expect(transport.isHealthy()).toBe(false);
    expect(pool.connectionCount()).toBe(0);
  });
});
