import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool, type Lease } from '../../src/pool/index.js';
import { NetConnector, SocketTransport, type BalanceMode } from '../../src/transport/index.js';
import { BACKEND_ADDRESSES, ServiceName, listenOnSharedPort } from '../cluster/support/service-name.js';
import { testCerts } from '../support/certs.js';
import { waitFor } from '../support/wait-for.js';

const NAME = 'backend.cluster.test';

let pools: ConnectionPool[] = [];
let servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(pools.map((pool) => pool.close({ timeout: '1s' })));
  pools = [];
  for (const server of servers) server.close();
  servers = [];
});

function poolOver(service: ServiceName, balance?: BalanceMode, extra: { autoSelectFamily?: boolean } = {}): ConnectionPool {
  const pool = new ConnectionPool({
    connector: new NetConnector({ lookup: service.lookup, ...(balance ? { balance } : {}), ...extra }),
    maxIdleConnections: 100,
  });
  pools.push(pool);
  return pool;
}

/** Servers on every backend address, one port; each keeps the sockets it accepted, by address. */
async function startBackends(addresses: readonly string[] = BACKEND_ADDRESSES): Promise<{ port: number; accepted: Map<string, net.Socket[]> }> {
  const accepted = new Map<string, net.Socket[]>();
  const { servers: started, port } = await listenOnSharedPort(addresses, () =>
    net.createServer((socket) => {
      socket.on('error', () => undefined);
      const local = socket.localAddress ?? '?';
      accepted.set(local, [...(accepted.get(local) ?? []), socket]);
    }),
  );
  servers.push(...started);
  return { port, accepted };
}

function remoteOf(lease: Lease): string | undefined {
  return (lease.transport as SocketTransport).remoteAddress;
}

/** Lets go of a connection for good and waits until its socket has closed (the balancer counts sockets). */
async function closeConnection(lease: Lease): Promise<void> {
  const socket = (lease.transport as SocketTransport).socket;
  const closed = socket.closed ? Promise.resolve() : once(socket, 'close');
  lease.noNewExchanges();
  lease.release();
  await closed;
}

function tally(addresses: Array<string | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const address of addresses) counts[String(address)] = (counts[String(address)] ?? 0) + 1;
  return counts;
}

describe("NetConnector's balance option", () => {
  it('is checked when the connector is made, naming the option and the value', () => {
    for (const bad of ['round-robin', 'LEAST-CONNECTIONS', 1, null, true]) {
      expect(() => new NetConnector({ balance: bad } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'balance', message: expect.stringContaining("'least-connections'") }),
      );
    }
    expect(new NetConnector({ balance: 'first' })).toBeInstanceOf(NetConnector);
    expect(new NetConnector({ balance: 'least-connections' })).toBeInstanceOf(NetConnector);
  });
});

describe('balance over the addresses a name resolves to', () => {
  let port: number;
  let accepted: Map<string, net.Socket[]>;

  beforeEach(async () => {
    ({ port, accepted } = await startBackends());
  });

  it("'first' (the default) sends every connection to the first address, as Node does", async () => {
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES));
    const leases = await Promise.all(Array.from({ length: 8 }, () => pool.acquire(`tcp://${NAME}:${port}`)));
    expect(tally(leases.map(remoteOf))).toEqual({ '127.0.0.2': 8 });
    for (const lease of leases) lease.release();
  });

  it("'least-connections' spreads a burst of connects evenly (connects in flight count)", async () => {
    const service = new ServiceName(BACKEND_ADDRESSES);
    const pool = poolOver(service, 'least-connections');
    const leases = await Promise.all(Array.from({ length: 8 }, () => pool.acquire(`tcp://${NAME}:${port}`)));
    expect(tally(leases.map(remoteOf))).toEqual({ '127.0.0.2': 2, '127.0.0.3': 2, '127.0.0.4': 2, '127.0.0.5': 2 });
    // The servers agree: each accepts two (a server sees its side a moment after the client's connect).
    await waitFor(() => BACKEND_ADDRESSES.every((address) => (accepted.get(address)?.length ?? 0) >= 2), 'every backend to accept');
    expect(BACKEND_ADDRESSES.map((address) => accepted.get(address)?.length)).toEqual([2, 2, 2, 2]);
    expect(service.lookups).toBe(8); // resolved per connect
    for (const lease of leases) lease.release();
  });

  it("shows each connection's remote address in connections() and in its connect-end event", async () => {
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES), 'least-connections');
    const ends: Array<{ connectionId: string; remoteAddress?: string }> = [];
    pool.events$.subscribe((event) => {
      if (event.type === 'connect-end') ends.push({ connectionId: event.connectionId, remoteAddress: event.remoteAddress });
    });
    const leases = await Promise.all(Array.from({ length: 4 }, () => pool.acquire(`tcp://${NAME}:${port}`)));
    const shown = new Map(pool.connections().map((info) => [info.id, info.remoteAddress]));
    expect([...shown.values()].sort()).toEqual([...BACKEND_ADDRESSES]);
    expect(ends).toHaveLength(4);
    for (const end of ends) expect(end.remoteAddress).toBe(shown.get(end.connectionId));
    for (const lease of leases) expect(shown.get(lease.connection.id)).toBe(remoteOf(lease));
    for (const lease of leases) lease.release();
  });

  it('takes tied addresses in turn', async () => {
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES), 'least-connections');
    const reached: Array<string | undefined> = [];
    for (let i = 0; i < 6; i++) {
      const lease = await pool.acquire(`tcp://${NAME}:${port}`);
      reached.push(remoteOf(lease));
      await closeConnection(lease);
    }
    expect(reached).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.2', '127.0.0.3']);
  });

  it('sends a new connection to the address with the fewest open ones, counting closes', async () => {
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES.slice(0, 2)), 'least-connections');
    const first = await Promise.all([0, 1, 2, 3].map(() => pool.acquire(`tcp://${NAME}:${port}`)));
    expect(tally(first.map(remoteOf))).toEqual({ '127.0.0.2': 2, '127.0.0.3': 2 });
    // Two of .3's connections go: the next two connects both go there.
    for (const lease of first.filter((lease) => remoteOf(lease) === '127.0.0.3')) await closeConnection(lease);
    const next = [await pool.acquire(`tcp://${NAME}:${port}`), await pool.acquire(`tcp://${NAME}:${port}`)];
    expect(next.map(remoteOf)).toEqual(['127.0.0.3', '127.0.0.3']);
    for (const lease of [...first, ...next]) lease.release();
  });

  it('stops counting a connection the moment the pool closes it, not when its socket says so a turn later', async () => {
    // A resolver that answers within the turn (a cache), before the closed socket's 'close'.
    const answer = BACKEND_ADDRESSES.slice(0, 2).map((address) => ({ address, family: 4 }));
    const cached: net.LookupFunction = (_hostname, _options, callback) =>
      queueMicrotask(() => (callback as unknown as (error: null, all: typeof answer) => void)(null, answer));
    const pool = new ConnectionPool({ connector: new NetConnector({ lookup: cached, balance: 'least-connections' }) });
    pools.push(pool);
    const [onFirst, onSecond] = await Promise.all([pool.acquire(`tcp://${NAME}:${port}`), pool.acquire(`tcp://${NAME}:${port}`)]);
    expect([remoteOf(onFirst!), remoteOf(onSecond!)]).toEqual(['127.0.0.2', '127.0.0.3']);
    const socket = (onSecond!.transport as SocketTransport).socket;
    let closeEmitted = false;
    socket.once('close', () => (closeEmitted = true));
    onSecond!.noNewExchanges();
    onSecond!.release();
    // Closed by the pool (destroyed), its 'close' still to come: connections retired together
    // must not send all their successors elsewhere.
    expect([socket.destroyed, closeEmitted]).toEqual([true, false]);
    const next = await pool.acquire(`tcp://${NAME}:${port}`);
    expect(remoteOf(next)).toBe('127.0.0.3');
    next.release();
    onFirst!.release();
  });

  it('keeps counting per host and port: another port of the same addresses starts from zero', async () => {
    const { port: otherPort } = await startBackends(BACKEND_ADDRESSES.slice(0, 2));
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES.slice(0, 2)), 'least-connections');
    const onFirstPort = await pool.acquire(`tcp://${NAME}:${port}`);
    const onOtherPort = await pool.acquire(`tcp://${NAME}:${otherPort}`);
    expect([remoteOf(onFirstPort), remoteOf(onOtherPort)]).toEqual(['127.0.0.2', '127.0.0.2']);
    onFirstPort.release();
    onOtherPort.release();
  });
});

describe('addresses that fail', () => {
  it('are tried after the others, and Happy Eyeballs moves on from one that refuses', async () => {
    // 127.0.0.6 is in the answer but nothing listens there (a pod that is gone).
    const { port } = await startBackends(BACKEND_ADDRESSES.slice(0, 2));
    const pool = poolOver(new ServiceName(['127.0.0.6', '127.0.0.2', '127.0.0.3']), 'least-connections');
    const first = await pool.acquire(`tcp://${NAME}:${port}`);
    const firstSocket = (first.transport as SocketTransport).socket as net.Socket & { autoSelectFamilyAttemptedAddresses?: string[] };
    expect(remoteOf(first)).toBe('127.0.0.2');
    expect(firstSocket.autoSelectFamilyAttemptedAddresses).toEqual([`127.0.0.6:${port}`, `127.0.0.2:${port}`]);
    // From now on 127.0.0.6 comes last, even though it holds no connection.
    const later = [await pool.acquire(`tcp://${NAME}:${port}`), await pool.acquire(`tcp://${NAME}:${port}`)];
    expect(later.map(remoteOf)).toEqual(['127.0.0.3', '127.0.0.2']);
    for (const lease of later) {
      const socket = (lease.transport as SocketTransport).socket as net.Socket & { autoSelectFamilyAttemptedAddresses?: string[] };
      expect(socket.autoSelectFamilyAttemptedAddresses?.[0]).not.toBe(`127.0.0.6:${port}`);
    }
    for (const lease of [first, ...later]) lease.release();
  });

  it('across families: an IPv6 address that refuses first, then IPv4', async () => {
    const { port } = await startBackends(BACKEND_ADDRESSES.slice(0, 1));
    const pool = poolOver(new ServiceName(['::1', '127.0.0.2']), 'least-connections');
    const lease = await pool.acquire(`tcp://${NAME}:${port}`);
    expect(remoteOf(lease)).toBe('127.0.0.2');
    lease.release();
  });

  it('without Happy Eyeballs, the connect goes to the one address chosen', async () => {
    const { port } = await startBackends(BACKEND_ADDRESSES.slice(0, 2));
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES.slice(0, 2)), 'least-connections', { autoSelectFamily: false });
    const leases = [await pool.acquire(`tcp://${NAME}:${port}`), await pool.acquire(`tcp://${NAME}:${port}`)];
    expect(leases.map(remoteOf)).toEqual(['127.0.0.2', '127.0.0.3']);
    for (const lease of leases) lease.release();
  });

  it('a name that resolves to nothing fails the connect with ENOTFOUND, and nothing stays counted', async () => {
    const service = new ServiceName([]);
    const pool = poolOver(service, 'least-connections');
    await expect(pool.acquire(`tcp://${NAME}:80`)).rejects.toMatchObject({ name: 'ConnectError', code: 'ENOTFOUND' });
    expect(pool.connectionCount()).toBe(0);
    const { port } = await startBackends(BACKEND_ADDRESSES.slice(0, 2));
    service.set(BACKEND_ADDRESSES.slice(0, 2));
    const lease = await pool.acquire(`tcp://${NAME}:${port}`);
    expect(remoteOf(lease)).toBe('127.0.0.2');
    lease.release();
  });
});

describe('balance over TLS', () => {
  it('spreads TLS connections too, verifying the name the certificate carries', async () => {
    const certs = testCerts();
    const { servers: started, port } = await listenOnSharedPort(BACKEND_ADDRESSES.slice(0, 2), () => {
      const server = tls.createServer({ cert: certs.server.cert, key: certs.server.key }, (socket) => socket.on('error', () => undefined));
      server.on('tlsClientError', () => undefined);
      return server;
    });
    servers.push(...started);
    const pool = poolOver(new ServiceName(BACKEND_ADDRESSES.slice(0, 2)), 'least-connections');
    // The test certificate names localhost: the name is resolved by the test's lookup.
    const leases = await Promise.all([0, 1, 2, 3].map(() => pool.acquire({ host: 'localhost', port, tls: { ca: certs.ca.cert } })));
    expect(tally(leases.map(remoteOf))).toEqual({ '127.0.0.2': 2, '127.0.0.3': 2 });
    for (const lease of leases) expect((lease.transport as SocketTransport).socket).toBeInstanceOf(tls.TLSSocket);
    for (const lease of leases) lease.release();
  });
});
