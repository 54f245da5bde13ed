import { once } from 'node:events';
import * as http2 from 'node:http2';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressResolver, ConnectionPool, type AddressOptions, type ConnectionHooks, type Lease, type PoolEvent } from '../../src/pool/index.js';
import { ConnectError, DEGRADED_PING_TIMEOUT_MS, Http2SessionTransport, NetConnector, SocketTransport, type NetConnectorOptions } from '../../src/transport/index.js';
import { testCerts } from '../support/certs.js';
import { startHttp2Server, startStallingRelay, type Http2StreamHandler, type Http2TestServer } from '../support/http2-servers.js';
import { LOOPBACK, startTlsServer } from '../support/local-servers.js';
import { VirtualClock } from '../pool/support/virtual-time.js';
import { openFileDescriptors } from '../support/open-files.js';
import { waitFor } from '../support/wait-for.js';

const certs = testCerts();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function h2Server(handler: Http2StreamHandler = answer, options?: Parameters<typeof startHttp2Server>[1]): Promise<Http2TestServer> {
  const server = await startHttp2Server(handler, options);
  cleanups.push(() => server.close());
  return server;
}

const answer: Http2StreamHandler = (stream, headers) => {
  stream.respond({ ':status': 200 });
  stream.end(`h2 ${String(headers[':path'])}`);
};

function newPool(connector: NetConnectorOptions = {}, extra: { scheduler?: VirtualClock['scheduler'] } = {}) {
  const pool = new ConnectionPool({ connector: new NetConnector(connector), connectTimeout: '5s', drainTimeout: '1s', ...extra });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  cleanups.push(() => pool.close());
  return { pool, events };
}

function h2Address(server: { port: number }, alpn: string[] = ['h2', 'http/1.1']): AddressOptions {
  return { host: LOOPBACK, port: server.port, protocol: 'https:', tls: { ca: certs.ca.cert, ALPNProtocols: alpn } };
}

function sessionOf(lease: Lease): Http2SessionTransport {
  expect(lease.transport).toBeInstanceOf(Http2SessionTransport);
  return lease.transport as Http2SessionTransport;
}

/** One GET over the session, as a lease holder would do it. */
async function get(transport: Http2SessionTransport, path: string): Promise<string> {
  const stream = transport.request({ ':path': path, ':method': 'GET', ':scheme': 'https', ':authority': `${LOOPBACK}` });
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  await once(stream, 'end');
  return body;
}

const closeReasons = (events: PoolEvent[]): string[] =>
  events.flatMap((event) => (event.type === 'connection-closed' ? [event.reason] : []));

describe('HTTP/2 sessions from the NetConnector', () => {
  it('makes an HTTP/2 session when the server chooses h2 by ALPN, and a socket otherwise', async () => {
    const server = await h2Server(answer, { allowHTTP1: true });
    const { pool } = newPool();
    const h2 = await pool.acquire(h2Address(server));
    const transport = sessionOf(h2);
    expect(transport.alpnProtocol).toBe('h2');
    expect(await get(transport, '/one')).toBe('h2 /one');
    h2.release();
    const h1 = await pool.acquire(h2Address(server, ['http/1.1']));
    expect(h1.transport).toBeInstanceOf(SocketTransport);
    expect((h1.transport as SocketTransport).alpnProtocol).toBe('http/1.1');
    h1.release();
    expect(pool.connectionCount()).toBe(2);
  });

  it("takes the server's MAX_CONCURRENT_STREAMS as its allocation limit, capped by maxConcurrentStreams", async () => {
    const limited = await h2Server(answer, { settings: { maxConcurrentStreams: 7 } });
    const unlimited = await h2Server();
    const { pool } = newPool({ http2: { maxConcurrentStreams: 50 } });
    const a = await pool.acquire(h2Address(limited));
    const b = await pool.acquire(h2Address(unlimited));
    expect([a.transport.allocationLimit, b.transport.allocationLimit]).toEqual([7, 50]);
    expect(pool.connections().map((info) => info.allocationLimit)).toEqual([7, 50]);
    a.release();
    b.release();
  });

  it('follows the server changing its limit: lower at once, higher with a call to capacityChanged', async () => {
    const server = await h2Server();
    const hooks = { capacityChanged: 0, noNewExchanges: [] as string[] };
    const recorder: ConnectionHooks = {
      capacityChanged: () => void hooks.capacityChanged++,
      noNewExchanges: (reason) => void hooks.noNewExchanges.push(reason ?? 'no-new-exchanges'),
    };
    const connector = new NetConnector();
    const transport = (await connector.connect(new AddressResolver().resolve(h2Address(server)), {
      signal: new AbortController().signal,
      hooks: recorder,
    })) as Http2SessionTransport;
    cleanups.push(async () => transport.close());
    expect(transport.allocationLimit).toBe(100);
    server.sessions[0]?.settings({ maxConcurrentStreams: 3 });
    await waitFor(() => transport.allocationLimit === 3, 'the lower limit to arrive');
    expect(hooks.capacityChanged).toBe(0);
    server.sessions[0]?.settings({ maxConcurrentStreams: 10 });
    await waitFor(() => transport.allocationLimit === 10, 'the higher limit to arrive');
    expect(hooks.capacityChanged).toBe(1);
    expect(hooks.noNewExchanges).toEqual([]);
  });

  it('GOAWAY: takes no new stream, lets the accepted ones finish, and leaves the pool once they have', async () => {
    let release: (() => void) | null = null;
    const server = await h2Server((stream) => {
      release = () => {
        stream.respond({ ':status': 200 });
        stream.end('late');
      };
    });
    const { pool, events } = newPool();
    const lease = await pool.acquire(h2Address(server));
    const transport = sessionOf(lease);
    const inFlight = get(transport, '/slow');
    await waitFor(() => release !== null, 'the stream to reach the server');
    server.sessions[0]?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await waitFor(() => !transport.isHealthy(), 'the GOAWAY to arrive');
    expect(transport.unfitReason).toBe('goaway');
    expect(transport.goawayLastStreamId).toBe(1);
    expect(pool.connections()).toMatchObject([{ noNewExchanges: true, allocations: 1 }]);
    (release as unknown as () => void)();
    expect(await inFlight).toBe('late');
    lease.release();
    await waitFor(() => pool.connectionCount() === 0, 'the session to leave the pool');
    expect(closeReasons(events)).toEqual(['no-new-exchanges']);
    expect(events.filter((event) => event.type === 'no-new-exchanges')).toHaveLength(1);
  });

  it('a session the server shuts down (GOAWAY) or whose connection drops leaves the pool', async () => {
    const server = await h2Server();
    const relay = await startStallingRelay(server.port);
    cleanups.push(() => relay.close());
    const { pool, events } = newPool();
    (await pool.acquire(h2Address(server))).release();
    (await pool.acquire(h2Address(relay))).release();
    server.sessions[0]?.destroy(); // Node says GOAWAY first
    await waitFor(() => pool.connectionCount() === 1, 'the pool to notice the shutdown');
    await relay.close(); // the connection drops without a word
    await waitFor(() => pool.connectionCount() === 0, 'the pool to notice the drop');
    expect(closeReasons(events)).toEqual(['no-new-exchanges', 'peer-closed']);
  });

  it('is unref\'d while idle, closes gracefully, and shows no secret in inspect()', async () => {
    const server = await h2Server();
    const { pool } = newPool();
    const lease = await pool.acquire(h2Address(server));
    const transport = sessionOf(lease);
    expect(inspect(transport)).toBe(`Http2SessionTransport<https://${LOOPBACK}:${server.port}#${String(pool.connections()[0]?.address).split('#')[1]} streams: 0/100>`);
    expect(inspect(transport)).not.toContain('BEGIN');
    lease.release();
    pool.evictAll();
    await waitFor(() => transport.session.destroyed, 'the session to close');
    await waitFor(() => server.sessions[0]?.closed === true || server.sessions[0]?.destroyed === true, 'the server to see the close');
  });

  it('fails the connect with ERR_HTTP2_NOT_NEGOTIATED when only h2 was offered and the server took nothing', async () => {
    const plainTls = await startTlsServer({ cert: certs.server.cert, key: certs.server.key });
    cleanups.push(() => plainTls.close());
    const { pool } = newPool();
    const error = (await pool.acquire(h2Address(plainTls, ['h2'])).catch((caught: unknown) => caught)) as ConnectError;
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.code).toBe('ERR_HTTP2_NOT_NEGOTIATED');
    expect(error.message).toContain('did not agree to HTTP/2');
    expect(pool.connectionCount()).toBe(0);
  });

  it('gives up on a server that never sends its SETTINGS, at the connect timeout', async () => {
    // A TLS server that agrees to h2 and then says nothing.
    const mute = await startTlsServer({ cert: certs.server.cert, key: certs.server.key, ALPNProtocols: ['h2'] });
    cleanups.push(() => mute.close());
    const pool = new ConnectionPool({ connector: new NetConnector(), connectTimeout: 200 });
    cleanups.push(() => pool.close());
    const error = (await pool.acquire(h2Address(mute)).catch((caught: unknown) => caught)) as { code?: string };
    expect(error.code).toBe('ERR_CONNECT_TIMEOUT');
    expect(pool.connectionCount()).toBe(0);
  });

  it('reports a session that closes before its SETTINGS as a ConnectError', async () => {
    const closing = await startTlsServer({ cert: certs.server.cert, key: certs.server.key, ALPNProtocols: ['h2'] });
    cleanups.push(() => closing.close());
    closing.server.on('secureConnection', (socket) => socket.destroy());
    const { pool } = newPool();
    const error = (await pool.acquire(h2Address(closing)).catch((caught: unknown) => caught)) as ConnectError;
    expect(error).toBeInstanceOf(ConnectError);
    expect(['ECONNRESET', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_ERROR']).toContain(error.code);
  });

  it('rejects bad HTTP/2 options, naming them', () => {
    expect(() => new NetConnector({ http2: { maxConcurrentStreams: 0 } })).toThrow(/Invalid option "http2.maxConcurrentStreams": 0/);
    expect(() => new NetConnector({ http2: { pingTimeout: -1 } })).toThrow(/Invalid option "http2.pingTimeout"/);
    expect(() => new NetConnector({ http2: { initialWindowSize: 10 } })).toThrow(/Invalid option "http2.initialWindowSize": 10/);
    expect(() => new NetConnector({ http2: { pingIntervall: '1s' } as never })).toThrow(/Invalid option "http2.pingIntervall".*check the spelling/);
    expect(() => new NetConnector({ http2: 'yes' as never })).toThrow(/Invalid option "http2": "yes"/);
  });
});

describe('HTTP/2 PING (the degraded-connection check), in virtual time', () => {
  it('keeps a session whose PINGs are answered, and closes an idle one whose PING goes unanswered (unhealthy)', async () => {
    const server = await h2Server();
    const relay = await startStallingRelay(server.port);
    cleanups.push(() => relay.close());
    const clock = new VirtualClock();
    const { pool, events } = newPool({ http2: { pingInterval: '10s', pingTimeout: '2s' } }, { scheduler: clock.scheduler });
    const lease = await pool.acquire({ ...h2Address(relay), tls: { ca: certs.ca.cert, ALPNProtocols: ['h2'] } });
    const transport = sessionOf(lease);
    lease.release();

    clock.advanceBy(10_000); // first PING
    expect(transport.pings.sent).toBe(1);
    await waitFor(() => transport.pings.answered === 1, 'the PING to be answered');
    clock.advanceBy(2_000); // its deadline has passed, but it was answered
    expect(transport.isHealthy()).toBe(true);

    relay.stall(); // the peer goes silent
    clock.advanceBy(8_000); // the second PING, 10 s after the first answer
    expect(transport.pings.sent).toBe(2);
    clock.advanceBy(1_999);
    expect(pool.connectionCount()).toBe(1);
    clock.advanceBy(1);
    expect(transport.unfitReason).toBe('ping-timeout');
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['unhealthy']);
    expect(events.filter((event) => event.type === 'no-new-exchanges')).toHaveLength(1);
  });

  it('lets the streams of a session whose PING went unanswered finish, and gives it no new lease', async () => {
    const server = await h2Server();
    const relay = await startStallingRelay(server.port);
    cleanups.push(() => relay.close());
    const clock = new VirtualClock();
    const { pool, events } = newPool({ http2: { pingInterval: '1s', pingTimeout: '1s' } }, { scheduler: clock.scheduler });
    const address = { ...h2Address(relay), tls: { ca: certs.ca.cert, ALPNProtocols: ['h2'] } };
    const lease = await pool.acquire(address);
    relay.stall();
    clock.advanceBy(2_000); // PING sent, then its deadline
    expect(pool.connections()).toMatchObject([{ noNewExchanges: true, allocations: 1, healthy: false }]);
    lease.release();
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['unhealthy']);
  });

  it('checkLiveness(): PINGs at once, one at a time; a session that answers stays, one silent for a second is unhealthy', async () => {
    const server = await h2Server();
    const relay = await startStallingRelay(server.port);
    cleanups.push(() => relay.close());
    const clock = new VirtualClock();
    const { pool, events } = newPool({ http2: { pingInterval: Infinity, pingTimeout: '5s' } }, { scheduler: clock.scheduler });
    const lease = await pool.acquire({ ...h2Address(relay), tls: { ca: certs.ca.cert, ALPNProtocols: ['h2'] } });
    const transport = sessionOf(lease);
    lease.release();

    transport.checkLiveness();
    expect(transport.pings.sent).toBe(1);
    await waitFor(() => transport.pings.answered === 1, 'the PING to be answered');
    transport.checkLiveness(); // answered just now: no second PING (at most one a second)
    expect(transport.pings.sent).toBe(1);
    clock.advanceBy(5_000);
    expect(transport.isHealthy()).toBe(true);

    relay.stall();
    transport.checkLiveness();
    transport.checkLiveness(); // one is out already
    expect(transport.pings.sent).toBe(2);
    clock.advanceBy(DEGRADED_PING_TIMEOUT_MS - 1); // shorter than pingTimeout: OkHttp's degraded-PING deadline
    expect(transport.isHealthy()).toBe(true);
    clock.advanceBy(1);
    expect(transport.unfitReason).toBe('ping-timeout');
    expect(pool.connectionCount()).toBe(0);
    expect(closeReasons(events)).toEqual(['unhealthy']);
    transport.checkLiveness(); // on a closed session: nothing
    expect(transport.pings.sent).toBe(2);
  });

  it('lets go of the socket of a session closed while its peer is silent (no wait for a FIN that never comes)', async () => {
    const server = await h2Server();
    const relay = await startStallingRelay(server.port);
    cleanups.push(() => relay.close());
    const { pool } = newPool();
    const before = openFileDescriptors();
    const lease = await pool.acquire({ ...h2Address(relay), tls: { ca: certs.ca.cert, ALPNProtocols: ['h2'] } });
    const transport = sessionOf(lease);
    // Ours, the relay's two and the server's.
    const open = openFileDescriptors();
    expect(open).toBeGreaterThan(before);
    lease.release();
    relay.stall();
    expect(pool.evictAll()).toBe(1);
    await waitFor(() => openFileDescriptors() === open - 1, 'our socket to be closed');
    expect(transport.session.destroyed).toBe(true);
  });

  it('sends no PING with pingInterval: Infinity', async () => {
    const server = await h2Server();
    const clock = new VirtualClock();
    const { pool } = newPool({ http2: { pingInterval: Infinity } }, { scheduler: clock.scheduler });
    const lease = await pool.acquire(h2Address(server));
    clock.advanceBy(3_600_000);
    expect(sessionOf(lease).pings).toEqual({ sent: 0, answered: 0 });
    lease.release();
  });
});
