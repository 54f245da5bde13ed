import { once } from 'node:events';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AddressResolver, ConnectionPool, type ConnectionPoolOptions, type Lease, type PoolEvent } from '../../src/pool/index.js';
import { ConnectError, NetConnector, SocketTransport } from '../../src/transport/index.js';
import { startNonAcceptingListener, startTcpServer, unusedPort, type LocalServer } from '../support/local-servers.js';
import { activeResources, waitFor } from '../support/wait-for.js';

let server: LocalServer;
let pool: ConnectionPool;
let events: PoolEvent[];
let url: string;

function newPool(options: ConnectionPoolOptions = {}): ConnectionPool {
  const made = new ConnectionPool({ connector: new NetConnector(), ...options });
  made.events$.subscribe((event) => events.push(event));
  return made;
}

function transportOf(lease: Lease): SocketTransport {
  const transport = lease.transport;
  expect(transport).toBeInstanceOf(SocketTransport);
  return transport as SocketTransport;
}

/** The next event of `type` (bounded: a missing event fails the test instead of hanging it). */
function nextEvent<T extends PoolEvent['type']>(type: T): Promise<Extract<PoolEvent, { type: T }>> {
  return firstValueFrom(
    pool.events$.pipe(
      filter((event): event is Extract<PoolEvent, { type: T }> => event.type === type),
      timeout(3_000),
    ),
  );
}

/** One request/response exchange over a leased transport, as the http layer will do it. */
async function exchange(lease: Lease, serverIndex: number): Promise<string> {
  const transport = transportOf(lease);
  const socket = transport.attach();
  const peer = await server.acceptedAt(serverIndex);
  socket.write('ping');
  const [request] = (await once(peer, 'data')) as [Buffer];
  peer.write(`pong:${request.toString()}`);
  const [response] = (await once(socket, 'data')) as [Buffer];
  expect(transport.detach()).toBe(true);
  return response.toString();
}

beforeEach(async () => {
  events = [];
  server = await startTcpServer();
  url = `tcp://127.0.0.1:${server.port}`;
  pool = newPool();
});

afterEach(async () => {
  await pool.close({ timeout: '1s' });
  await server.close();
});

describe('TCP connections made by the NetConnector', () => {
  it('connects, carries bytes, and serves the next acquire with the same connection', async () => {
    const first = await pool.acquire(url);
    expect(await exchange(first, 0)).toBe('pong:ping');
    const firstId = first.connection.id;
    first.release();

    const second = await pool.acquire(url);
    expect(second.connection.id).toBe(firstId);
    expect(await exchange(second, 0)).toBe('pong:ping');
    second.release();

    expect(server.accepted).toHaveLength(1);
    expect(events.filter((event) => event.type === 'connect-start')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'connection-acquired').map((event) => event.type === 'connection-acquired' && event.reused)).toEqual([
      false,
      true,
    ]);
  });

  it('rejects with ECONNREFUSED naming the address when nothing listens, and keeps nothing', async () => {
    const port = await unusedPort();
    const error = (await pool.acquire(`tcp://127.0.0.1:${port}`).catch((caught: unknown) => caught)) as ConnectError;

    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.syscall).toBe('connect');
    expect(error.message).toContain(`tcp://127.0.0.1:${port}`);
    expect(error.message).toContain('check the host and port');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(pool.connectionCount()).toBe(0);
    expect(events.map((event) => event.type)).toEqual(['connect-start', 'connect-failed']);
  });

  it('an idle connection does not keep the process alive; a leased one does', async () => {
    await waitFor(() => activeResources('TCPSocketWrap') === 0, 'the sockets of earlier tests to close');
    const baseline = activeResources('TCPSocketWrap');
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    await server.acceptedAt(0);
    // The server's side is ref'd; the client's idle side is not.
    expect(activeResources('TCPSocketWrap')).toBe(baseline + 1);
    transport.attach();
    expect(activeResources('TCPSocketWrap')).toBe(baseline + 2);
    transport.detach();
    expect(activeResources('TCPSocketWrap')).toBe(baseline + 1);
    lease.release();
  });

  it('attach() hands over a socket whose first reader gets every byte, even those sent before it listened', async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    const socket = transport.attach();
    const peer = await server.acceptedAt(0);
    peer.write('early');
    await waitFor(() => socket.readableLength > 0, 'the bytes to be buffered');
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('early');
    expect(transport.detach()).toBe(true);
    lease.release();
  });
});

describe('a connect that does not complete', () => {
  it('times out against a listener that never accepts (ERR_CONNECT_TIMEOUT), destroying the socket', async () => {
    const listener = await startNonAcceptingListener();
    try {
      const socketsBefore = activeResources('TCPSocketWrap');
      const shortPool = newPool({ connectTimeout: '200ms' });
      const target = `tcp://127.0.0.1:${listener.port}`;
      const error = (await shortPool.acquire(target).catch((caught: unknown) => caught)) as Error & { code?: string };

      expect(error.code).toBe('ERR_CONNECT_TIMEOUT');
      expect(error.message).toContain(target);
      expect(shortPool.connectionCount()).toBe(0);
      await waitFor(() => activeResources('TCPSocketWrap') === socketsBefore, 'the timed-out socket to be destroyed');
      await shortPool.close();
    } finally {
      await listener.close();
    }
  });

  it("stops mid-connect when the acquirer's signal aborts, rejecting with ERR_ACQUIRE_ABORTED", async () => {
    const listener = await startNonAcceptingListener();
    try {
      const socketsBefore = activeResources('TCPSocketWrap');
      const controller = new AbortController();
      const acquiring = pool.acquire(`tcp://127.0.0.1:${listener.port}`, { signal: controller.signal }).catch((caught: unknown) => caught);
      await waitFor(() => activeResources('TCPSocketWrap') > socketsBefore, 'the connect to be under way');
      controller.abort(new Error('user gave up'));
      const error = (await acquiring) as Error & { code?: string };

      expect(error.code).toBe('ERR_ACQUIRE_ABORTED');
      expect((error.cause as Error).message).toBe('user gave up');
      expect(pool.connectionCount()).toBe(0);
      expect(events.map((event) => event.type)).toEqual(['connect-start', 'connect-failed']);
      await waitFor(() => activeResources('TCPSocketWrap') === socketsBefore, 'the aborted socket to be destroyed');
    } finally {
      await listener.close();
    }
  });

  it("the connector rejects with the signal's own reason, mid-connect or already aborted", async () => {
    const listener = await startNonAcceptingListener();
    try {
      const connector = new NetConnector();
      const reason = new Error('stop');
      const controller = new AbortController();
      const target = new AddressResolver().resolve(`tcp://127.0.0.1:${listener.port}`);
      const socketsBefore = activeResources('TCPSocketWrap');
      const connecting = connector.connect(target, { signal: controller.signal }).catch((caught: unknown) => caught);
      await waitFor(() => activeResources('TCPSocketWrap') > socketsBefore, 'the connect to be under way');
      controller.abort(reason);
      expect(await connecting).toBe(reason);
      expect(await connector.connect(target, { signal: AbortSignal.abort(reason) }).catch((caught: unknown) => caught)).toBe(reason);
      await waitFor(() => activeResources('TCPSocketWrap') === socketsBefore, 'the aborted socket to be destroyed');
    } finally {
      await listener.close();
    }
  });
});

describe('health of pooled TCP connections', () => {
  it('evicts an idle connection the server closed (peer-closed), and the next acquire connects anew', async () => {
    const lease = await pool.acquire(url);
    const firstId = lease.connection.id;
    await exchange(lease, 0);
    lease.release();

    const closed = nextEvent('connection-closed');
    server.accepted[0]?.end();
    const event = await closed;
    expect(event).toMatchObject({ connectionId: firstId, reason: 'peer-closed' });
    expect(pool.connectionCount()).toBe(0);

    const next = await pool.acquire(url);
    expect(next.connection.id).not.toBe(firstId);
    expect(await exchange(next, 1)).toBe('pong:ping');
    next.release();
  });

  it('knows a half-closed connection is unfit as soon as the FIN arrives', async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    lease.release();
    const peer = await server.acceptedAt(0);
    const ended = new Promise<boolean>((resolve) => transport.socket.once('end', () => resolve(transport.isHealthy())));
    peer.end();
    expect(await ended).toBe(false);
    expect(transport.unfitReason).toBe('peer-ended');
  });

  it('a reset while idle does not crash the process: the transport records the error and the pool evicts it', async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    lease.release();
    const closed = nextEvent('connection-closed');
    (await server.acceptedAt(0)).resetAndDestroy();

    expect(await closed).toMatchObject({ reason: 'peer-closed' });
    expect(transport.isHealthy()).toBe(false);
    expect((transport.error as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');
  });

  it('stray bytes on an idle connection make it unhealthy: the next acquire does not get it', async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    const firstId = lease.connection.id;
    lease.release();
    (await server.acceptedAt(0)).write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    await waitFor(() => !transport.isHealthy(), 'the stray bytes to be noticed');
    expect(transport.unfitReason).toBe('unexpected-data');

    const next = await pool.acquire(url);
    expect(next.connection.id).not.toBe(firstId);
    expect(events.find((event) => event.type === 'connection-closed')).toMatchObject({ connectionId: firstId, reason: 'unhealthy' });
    expect(transport.socket.destroyed).toBe(true);
    next.release();
  });

  it('bytes the lease holder left unread make the connection unfit at detach()', async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    const socket = transport.attach();
    (await server.acceptedAt(0)).write('a response nobody read');
    await waitFor(() => socket.readableLength > 0, 'the bytes to be buffered');

    expect(transport.detach()).toBe(false);
    expect(transport.unfitReason).toBe('unexpected-data');
    lease.noNewExchanges();
    lease.release();
    expect(events.at(-1)).toMatchObject({ type: 'connection-closed', reason: 'no-new-exchanges' });
  });

  it('close() is idempotent and makes the transport unhealthy', async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    lease.release();
    transport.close();
    transport.close();
    expect(transport.isHealthy()).toBe(false);
    expect(transport.unfitReason).toBe('destroyed');
  });

  it("a 'close' listener added after the socket closed still hears of it", async () => {
    const lease = await pool.acquire(url);
    const transport = transportOf(lease);
    lease.noNewExchanges();
    lease.release();
    await waitFor(() => transport.socket.closed, 'the socket to close');
    const heard = new Promise<void>((resolve) => transport.on('close', resolve));
    await expect(heard).resolves.toBeUndefined();
  });

  it('leaves no socket open after pool.close()', async () => {
    const leases = await Promise.all([pool.acquire(url), pool.acquire(url), pool.acquire(url)]);
    const transports = leases.map(transportOf);
    await waitFor(() => server.accepted.length === 3, 'three connections');
    transports[2]?.attach();
    leases[0]?.release();
    leases[1]?.release();
    const closing = pool.close({ timeout: '2s' });
    transports[2]?.detach();
    leases[2]?.release();
    await closing;

    expect(pool.connectionCount()).toBe(0);
    expect(transports.every((transport) => transport.socket.destroyed)).toBe(true);
    await waitFor(async () => (await server.connectionCount()) === 0, 'the server to count no open connection');
    await waitFor(() => transports.every((transport) => transport.socket.closed), 'every client socket to be closed');
  });
});
