import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool, type AddressOptions, type Lease, type PoolEvent } from '../../src/pool/index.js';
import { ConnectError, NetConnector, ProxyTunnelError, SocketTransport, type NetConnectorOptions } from '../../src/transport/index.js';
import { testCerts } from '../support/certs.js';
import {
  LOOPBACK,
  startConnectProxy,
  startTcpServer,
  startTlsServer,
  unusedPort,
  type ConnectProxy,
  type LocalServer,
} from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';

const certs = testCerts();
const closables: Array<{ close(): Promise<void> }> = [];
let pool: ConnectionPool;
let events: PoolEvent[];

function newPool(options?: NetConnectorOptions): ConnectionPool {
  const made = new ConnectionPool({ connector: new NetConnector(options), connectTimeout: '5s' });
  made.events$.subscribe((event) => events.push(event));
  return made;
}

async function started<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const value = await server;
  closables.push(value);
  return value;
}

async function roundTrip(lease: Lease, peer: Promise<Socket>): Promise<string> {
  const transport = lease.transport as SocketTransport;
  const socket = transport.attach();
  const serverSide = await peer;
  socket.write('ping');
  const [request] = (await once(serverSide, 'data')) as [Buffer];
  serverSide.write(`pong:${request.toString()}`);
  const [response] = (await once(socket, 'data')) as [Buffer];
  expect(transport.detach()).toBe(true);
  return response.toString();
}

async function rejection(address: AddressOptions): Promise<Error & { code?: string }> {
  return pool.acquire(address).then(
    () => {
      throw new Error('the acquire should have failed');
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

beforeEach(() => {
  events = [];
  pool = newPool();
});

afterEach(async () => {
  await pool.close({ timeout: '1s' });
  await Promise.all(closables.splice(0).map((closable) => closable.close()));
});

describe('connections through an HTTP CONNECT proxy', () => {
  let target: LocalServer;
  let proxy: ConnectProxy;

  beforeEach(async () => {
    target = await started(startTcpServer());
    proxy = await started(startConnectProxy());
  });

  it('tunnels a TCP connection, and reuses the tunnel', async () => {
    const address: AddressOptions = { host: LOOPBACK, port: target.port, proxy: `http://${LOOPBACK}:${proxy.port}` };
    const first = await pool.acquire(address);
    expect(await roundTrip(first, target.acceptedAt(0))).toBe('pong:ping');
    first.release();
    const second = await pool.acquire(address);
    expect(second.connection.id).toBe(first.connection.id);
    expect(await roundTrip(second, target.acceptedAt(0))).toBe('pong:ping');
    second.release();

    expect(proxy.connects).toEqual([{ authority: `${LOOPBACK}:${target.port}`, proxyAuthorization: undefined }]);
  });

  it('runs TLS end to end inside the tunnel: SNI and verification are the target’s', async () => {
    const secureTarget = await started(startTlsServer({ cert: certs.server.cert, key: certs.server.key }));
    // The test proxy tunnels every host to loopback, so the target can be named by its name.
    const lease = await pool.acquire({
      host: 'localhost',
      port: secureTarget.port,
      tls: { ca: certs.ca.cert },
      proxy: `http://${LOOPBACK}:${proxy.port}`,
    });
    const serverSide = (await secureTarget.acceptedAt(0)) as TLSSocket;
    expect(serverSide.servername).toBe('localhost');
    expect(proxy.connects[0]?.authority).toBe(`localhost:${secureTarget.port}`);
    expect(await roundTrip(lease, secureTarget.acceptedAt(0))).toBe('pong:ping');
    lease.release();
  });

  it('a TLS failure inside the tunnel rejects with Node’s code and closes the tunnel', async () => {
    const secureTarget = await started(startTlsServer({ cert: certs.server.cert, key: certs.server.key }));
    const error = await rejection({
      host: 'localhost',
      port: secureTarget.port,
      tls: { ca: certs.otherCa.cert },
      proxy: `http://${LOOPBACK}:${proxy.port}`,
    });
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(pool.connectionCount()).toBe(0);
    await waitFor(async () => (await proxy.connectionCount()) === 0, 'the proxy to see the tunnel closed');
  });

  it('rejects with ECONNREFUSED naming the proxy when the proxy is not there', async () => {
    const port = await unusedPort();
    const error = await rejection({ host: LOOPBACK, port: target.port, proxy: `http://${LOOPBACK}:${port}` });
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toContain(`via http://${LOOPBACK}:${port}`);
    expect(pool.connectionCount()).toBe(0);
  });

  it('reaches an https: proxy with the connector’s proxyTls options', async () => {
    const secureProxy = await started(startConnectProxy({ tls: { cert: certs.server.cert, key: certs.server.key } }));
    await pool.close();
    pool = newPool({ proxyTls: { ca: certs.ca.cert } });
    const lease = await pool.acquire({ host: LOOPBACK, port: target.port, proxy: `https://${LOOPBACK}:${secureProxy.port}` });
    expect(await roundTrip(lease, target.acceptedAt(0))).toBe('pong:ping');
    lease.release();
    expect(secureProxy.connects).toHaveLength(1);
  });

  it('refuses a proxy scheme it cannot speak with ERR_PROXY_UNSUPPORTED', async () => {
    const error = await rejection({ host: LOOPBACK, port: target.port, proxy: 'socks5://127.0.0.1:1080' });
    expect(error).toBeInstanceOf(ProxyTunnelError);
    expect(error.code).toBe('ERR_PROXY_UNSUPPORTED');
    expect(error.message).toContain('http: or https: proxy');
    expect(proxy.connects).toHaveLength(0);
  });

  it('leaves no tunnel open after pool.close()', async () => {
    const address: AddressOptions = { host: LOOPBACK, port: target.port, proxy: `http://${LOOPBACK}:${proxy.port}` };
    const leases = await Promise.all([pool.acquire(address), pool.acquire(address)]);
    for (const lease of leases) lease.release();
    await pool.close();
    await waitFor(async () => (await proxy.connectionCount()) === 0, 'the proxy to count no open connection');
    await waitFor(async () => (await target.connectionCount()) === 0, 'the target to count no open connection');
  });
});

describe('proxy credentials', () => {
  let target: LocalServer;
  let proxy: ConnectProxy;
  const password = 'p@ss w0rd:secret';

  beforeEach(async () => {
    target = await started(startTcpServer());
    proxy = await started(startConnectProxy({ credentials: `alice:${password}` }));
  });

  it('sends the proxy URL’s credentials as Proxy-Authorization: Basic', async () => {
    const lease = await pool.acquire({
      host: LOOPBACK,
      port: target.port,
      proxy: `http://alice:${encodeURIComponent(password)}@${LOOPBACK}:${proxy.port}`,
    });
    expect(proxy.connects[0]?.proxyAuthorization).toBe(`Basic ${Buffer.from(`alice:${password}`).toString('base64')}`);
    expect(await roundTrip(lease, target.acceptedAt(0))).toBe('pong:ping');
    lease.release();
  });

  it('407 without credentials: ERR_PROXY_TUNNEL saying where to put them, nothing pooled', async () => {
    const error = await rejection({ host: LOOPBACK, port: target.port, proxy: `http://${LOOPBACK}:${proxy.port}` });
    expect(error).toBeInstanceOf(ProxyTunnelError);
    expect(error.code).toBe('ERR_PROXY_TUNNEL');
    expect((error as ProxyTunnelError).statusCode).toBe(407);
    expect(error.message).toContain('Put the credentials in the proxy URL');
    expect(pool.connectionCount()).toBe(0);
    expect(events.map((event) => event.type)).toEqual(['connect-start', 'connect-failed']);
  });

  it('407 with wrong credentials: the message names the proxy, never the password', async () => {
    const wrong = 'not-the-password-42';
    const error = await rejection({ host: LOOPBACK, port: target.port, proxy: `http://alice:${wrong}@${LOOPBACK}:${proxy.port}` });
    expect(error.code).toBe('ERR_PROXY_TUNNEL');
    expect(error.message).toContain('rejected the credentials');
    expect(error.message).toContain(`via http://${LOOPBACK}:${proxy.port}`);
    expect(`${error.message}\n${error.stack}`).not.toContain(wrong);
    expect(`${error.message}\n${error.stack}`).not.toContain('alice');
  });
});
