import type { Socket } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool, StaleConnectionError } from '../../src/http/index.js';
import type { Address, ConnectContext, PoolEvent, RetryEvent } from '../../src/pool/index.js';
import { NetConnector } from '../../src/transport/index.js';
import { startFlakyHttpServer, type FlakyHttpServer, type FlakyRequest, type FlakyVerdict } from '../support/flaky-http-server.js';
import { waitFor } from '../support/wait-for.js';

/**
 * A request the dispatcher never wrote is never lost. Under a storm of resets (the chaos soak of
 * test/chaos/soak.test.ts) idempotent GETs failed with undici's UND_ERR_DESTROYED ("The client is
 * destroyed"): a GET written on a reused connection was reset (its one retry spent), and the
 * retry was handed a connection that had just served another request and whose peer had just
 * closed it. undici's Client waits a turn of the event loop before it writes on such a socket
 * (its idle-socket validation); the socket closed meanwhile, the Client was destroyed with it,
 * and the request, never written, failed with the Client's "destroyed" error, with no retry left.
 *
 * Here the client side of a pooled socket is closed at the exact moment of the race: right
 * after the connection is handed to a request (a microtask after the `connection-acquired`
 * event), which for an idle connection is after undici queued the request and before it wrote
 * it, and for a new connection is before the exchange gets its lease.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function flaky(decide: (request: FlakyRequest) => FlakyVerdict = () => 'answer'): Promise<FlakyHttpServer> {
  const server = await startFlakyHttpServer(decide);
  cleanups.push(() => server.close());
  return server;
}

interface Harness {
  readonly pool: ConnectionPool;
  readonly events: PoolEvent[];
  /** Closes the client side of the socket of the next hand-overs of these connections (ids), once each. */
  closeOnHandOver(...ids: string[]): void;
  /** Closes the client side of every connection at each hand-over from now on. */
  closeEveryHandOver(): void;
  /** The connection ids whose sockets were closed at a hand-over, in order. */
  readonly closed: string[];
}

/** A pool whose connections' sockets the test can close at the moment they are handed over. */
function harness(): Harness {
  const inner = new NetConnector();
  const sockets = new Map<string, Socket>();
  const pool = new ConnectionPool({
    drainTimeout: '1s',
    connector: {
      async connect(address: Address, context: ConnectContext) {
        const transport = await inner.connect(address, context);
        if ('socket' in transport && context.connectionId !== undefined) sockets.set(context.connectionId, transport.socket);
        return transport;
      },
    },
  });
  cleanups.push(() => pool.close());
  const events: PoolEvent[] = [];
  const armed = new Set<string>();
  const closed: string[] = [];
  let all = false;
  pool.events$.subscribe((event) => {
    events.push(event);
    if (event.type !== 'connection-acquired' || !(all || armed.delete(event.connectionId))) return;
    const socket = sockets.get(event.connectionId);
    if (socket === undefined) throw new Error(`no socket for ${event.connectionId}`);
    queueMicrotask(() => {
      closed.push(event.connectionId);
      socket.destroy();
    });
  });
  return {
    pool,
    events,
    closed,
    closeOnHandOver: (...ids) => ids.forEach((id) => armed.add(id)),
    closeEveryHandOver: () => void (all = true),
  };
}

const retries = (events: PoolEvent[]): Array<[string, string]> =>
  events.filter((event): event is RetryEvent => event.type === 'retry').map((event) => [event.connectionId, event.reason]);

/** Warms connection c1 up (undici's Client has used its socket once), and waits for it to be idle. */
async function warm(pool: ConnectionPool, server: FlakyHttpServer, dispatcher = pool.dispatcher()): Promise<void> {
  const { body } = await request(`${server.origin}/warm`, { dispatcher });
  expect(await body.text()).toBe('0:0 GET /warm ');
  await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
}

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  return promise.then(
    () => ({ code: 'none: it succeeded' }),
    (caught: unknown) => caught as { code?: string; message?: string },
  );
}

describe('a request whose pooled connection closed before it was written is sent again (never lost)', () => {
  it('reports ERR_CONNECTION_GONE, not UND_ERR_DESTROYED, when the reused connection closes while undici waits to write (retries off); the server saw nothing', async () => {
    const server = await flaky();
    const { pool, events, closeOnHandOver, closed } = harness();
    const dispatcher = pool.dispatcher({ retry: false });
    await warm(pool, server, dispatcher);
    closeOnHandOver('c1');
    const error = await failure(request(`${server.origin}/lost`, { dispatcher }));
    expect(closed).toEqual(['c1']);
    expect(error.code).toBe('ERR_CONNECTION_GONE');
    expect(error.message).toContain('the request was not sent');
    expect(server.requests.map((r) => `${r.connection}:${r.index} ${r.path}`)).toEqual(['0:0 /warm']);
    expect(retries(events)).toEqual([]);
    await waitFor(() => pool.stats().leases === 0 && pool.connections().length === 0, 'the closed connection to leave the pool');
  });

  it('sends again, without spending its one retry, a GET whose reused connection closed while undici waited to write it and whose next (new) connection closed as it was handed over', async () => {
    const server = await flaky();
    const { pool, events, closeOnHandOver, closed } = harness();
    await warm(pool, server);
    closeOnHandOver('c1', 'c2');
    const { statusCode, body } = await request(`${server.origin}/again`, { dispatcher: pool.dispatcher() });
    expect([statusCode, await body.text()]).toEqual([200, '2:0 GET /again ']);
    expect(closed).toEqual(['c1', 'c2']);
    // Written once, on the third connection; the first two never carried a byte of it.
    expect(server.requests.map((r) => `${r.connection}:${r.index} ${r.path}`)).toEqual(['0:0 /warm', '2:0 /again']);
    expect(retries(events)).toEqual([
      ['c1', 'connection-closed'],
      ['c2', 'connection-closed'],
    ]);
    await waitFor(() => pool.stats().leases === 0, 'every lease to be back');
    expect(pool.connections().map((info) => info.id)).toEqual(['c3']);
  });

  it('the chaos soak case: a GET reset after it was written on a reused connection is retried, and when the retry\'s connection closes before it is written, it is sent again', async () => {
    // Connection 0 answers /warm, then resets the connection on reading the next request.
    const server = await flaky((req) => (req.connection === 0 && req.index > 0 ? 'reset' : 'answer'));
    const { pool, events, closeOnHandOver, closed } = harness();
    await warm(pool, server);
    closeOnHandOver('c2');
    const { statusCode, body } = await request(`${server.origin}/item`, { dispatcher: pool.dispatcher() });
    expect([statusCode, await body.text()]).toEqual([200, '2:0 GET /item ']);
    expect(closed).toEqual(['c2']);
    expect(server.requests.map((r) => `${r.connection}:${r.index} ${r.path}`)).toEqual(['0:0 /warm', '0:1 /item', '2:0 /item']);
    expect(retries(events)).toEqual([
      ['c1', 'connection-reset'],
      ['c2', 'connection-closed'],
    ]);
  });

  it('sends again a POST that was never written (any method), with its body; a POST written on a stale connection is still not sent again', async () => {
    const server = await flaky((req) => (req.path === '/written' && req.index > 0 ? 'reset' : 'answer'));
    const { pool, events, closeOnHandOver } = harness();
    const dispatcher = pool.dispatcher();
    await warm(pool, server);
    closeOnHandOver('c1');
    const posted = await request(`${server.origin}/orders`, { dispatcher, method: 'POST', body: 'sku=1' });
    expect(await posted.body.text()).toBe('1:0 POST /orders sku=1');
    expect(server.requests.filter((r) => r.path === '/orders')).toHaveLength(1);
    expect(retries(events)).toEqual([['c1', 'connection-closed']]);

    // c2 is idle now, and used: a POST written on it that the server resets may have been processed.
    await waitFor(() => pool.stats().idle === 1, 'the new connection to be idle');
    const error = await failure(request(`${server.origin}/written`, { dispatcher, method: 'POST', body: 'sku=2' }));
    expect(error).toBeInstanceOf(StaleConnectionError);
    expect(error.code).toBe('ERR_STALE_CONNECTION');
    expect(server.requests.filter((r) => r.path === '/written')).toHaveLength(1);
    expect(retries(events)).toHaveLength(1);
  });

  it('gives up, with ERR_CONNECTION_GONE, when connection after connection closes before the request is written (3 resends, then its one retry)', async () => {
    const server = await flaky();
    const { pool, events, closeEveryHandOver, closed } = harness();
    await warm(pool, server);
    closeEveryHandOver();
    const error = await failure(request(`${server.origin}/never`, { dispatcher: pool.dispatcher() }));
    expect(error.code).toBe('ERR_CONNECTION_GONE');
    expect(closed).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(server.requests.map((r) => r.path)).toEqual(['/warm']);
    expect(retries(events)).toEqual([
      ['c1', 'connection-closed'],
      ['c2', 'connection-closed'],
      ['c3', 'connection-closed'],
      ['c4', 'connection-closed'],
    ]);
    await waitFor(() => pool.stats().leases === 0 && pool.connections().length === 0, 'every connection to leave the pool');
  });
});
