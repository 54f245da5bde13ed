import { Readable } from 'node:stream';
import { fetch, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool, StaleConnectionError } from '../../src/http/index.js';
import type { PoolEvent, RetryEvent } from '../../src/pool/index.js';
import { startFlakyHttpServer, type FlakyHttpServer, type FlakyVerdict, type FlakyRequest } from '../support/flaky-http-server.js';
import { waitFor } from '../support/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function poolFor(): { pool: ConnectionPool; events: PoolEvent[] } {
  const pool = new ConnectionPool({ drainTimeout: '1s' });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  cleanups.push(() => pool.close());
  return { pool, events };
}

async function flaky(decide: (request: FlakyRequest) => FlakyVerdict): Promise<FlakyHttpServer> {
  const server = await startFlakyHttpServer(decide);
  cleanups.push(() => server.close());
  return server;
}

/** The first request of each connection is answered; the second finds the connection dropped (as at the server's idle timeout). */
const staleOnReuse =
  (drop: 'close' | 'reset') =>
  (request: FlakyRequest): FlakyVerdict =>
    request.index === 0 ? 'answer' : drop;

const retries = (events: PoolEvent[]): RetryEvent[] => events.filter((event): event is RetryEvent => event.type === 'retry');

/** Warms one pooled connection up, so that the next request reuses it. */
async function warm(pool: ConnectionPool, server: FlakyHttpServer): Promise<void> {
  const { body } = await request(`${server.origin}/warm`, { dispatcher: pool.dispatcher() });
  expect(await body.text()).toBe('0:0 GET /warm ');
  await waitFor(() => pool.stats().idle === 1, 'the connection to be idle');
}

describe('the dispatcher sends again what a stale connection lost', () => {
  it('retries a GET that found its reused connection closed (FIN), once, on a new connection', async () => {
    const server = await flaky(staleOnReuse('close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const { statusCode, body } = await request(`${server.origin}/again`, { dispatcher: pool.dispatcher() });
    expect([statusCode, await body.text()]).toEqual([200, '1:0 GET /again ']);
    expect(retries(events)).toEqual([
      { type: 'retry', at: expect.any(Number), connectionId: 'c1', address: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+#/), method: 'GET', reason: 'connection-closed' },
    ]);
    expect(server.requests.map((r) => `${r.connection}:${r.index} ${r.path}`)).toEqual(['0:0 /warm', '0:1 /again', '1:0 /again']);
  });

  it('retries a PUT that found its reused connection reset (RST), and a DELETE', async () => {
    const server = await flaky(staleOnReuse('reset'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const put = await request(`${server.origin}/item`, { dispatcher: pool.dispatcher(), method: 'PUT', body: 'v=1' });
    expect(await put.body.text()).toBe('1:0 PUT /item v=1');
    await waitFor(() => pool.stats().idle === 1, 'the new connection to be idle');
    const del = await request(`${server.origin}/item`, { dispatcher: pool.dispatcher(), method: 'DELETE' });
    expect(await del.body.text()).toBe('2:0 DELETE /item ');
    expect(retries(events).map((event) => [event.method, event.reason])).toEqual([
      ['PUT', 'connection-reset'],
      ['DELETE', 'connection-reset'],
    ]);
  });

  it('retries a POST that carries an Idempotency-Key, with its body', async () => {
    const server = await flaky(staleOnReuse('close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const { body } = await request(`${server.origin}/orders`, {
      dispatcher: pool.dispatcher(),
      method: 'POST',
      headers: { 'Idempotency-Key': 'order-42' },
      body: Buffer.from('{"sku":1}'),
    });
    expect(await body.text()).toBe('1:0 POST /orders {"sku":1}');
    expect(retries(events).map((event) => event.method)).toEqual(['POST']);
  });

  it("retries a fetch() GET (undici's fetch)", async () => {
    const server = await flaky(staleOnReuse('close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const response = await fetch(`${server.origin}/fetched`, { dispatcher: pool.dispatcher() });
    expect(await response.text()).toBe('1:0 GET /fetched ');
    expect(retries(events)).toHaveLength(1);
  });

  it('does not retry a POST on a stale connection: it fails with ERR_STALE_CONNECTION, saying why', async () => {
    const server = await flaky(staleOnReuse('close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const error = (await request(`${server.origin}/orders?token=secret`, { dispatcher: pool.dispatcher(), method: 'POST', body: 'x' }).catch(
      (caught: unknown) => caught,
    )) as StaleConnectionError;
    expect(error).toBeInstanceOf(StaleConnectionError);
    expect(error.code).toBe('ERR_STALE_CONNECTION');
    expect(error.reason).toBe('connection-closed');
    expect(error.message).toBe(
      `POST http://127.0.0.1:${server.port}/orders failed on a reused pooled connection: the server had closed it before any response arrived. ` +
        'It was not sent again because POST is not idempotent and the request has no Idempotency-Key header, so the server may or may not have processed it. ' +
        'Send it again yourself if that is safe, or give it an Idempotency-Key header (and a string or Buffer body) so that the dispatcher may.',
    );
    expect(error.message).not.toContain('secret');
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_SOCKET');
    expect(retries(events)).toEqual([]);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('does not retry a request whose body was a stream: ERR_STALE_CONNECTION', async () => {
    const server = await flaky(staleOnReuse('reset'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const error = (await request(`${server.origin}/upload`, { dispatcher: pool.dispatcher(), method: 'PUT', body: Readable.from(['a', 'b']) }).catch(
      (caught: unknown) => caught,
    )) as StaleConnectionError;
    expect(error).toBeInstanceOf(StaleConnectionError);
    expect(error.message).toContain('because its body is a stream, which has been read and cannot be sent again');
    expect(retries(events)).toEqual([]);
  });

  it('retries once only: a request that fails again on its new connection fails with that error', async () => {
    const server = await flaky((req) => (req.connection === 0 && req.index === 0 ? 'answer' : 'close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    const error = (await request(`${server.origin}/doomed`, { dispatcher: pool.dispatcher() }).catch((caught: unknown) => caught)) as { code?: string };
    expect(error).not.toBeInstanceOf(StaleConnectionError);
    expect(error.code).toBe('UND_ERR_SOCKET');
    expect(retries(events)).toHaveLength(1);
    expect(server.requests.map((r) => r.path)).toEqual(['/warm', '/doomed', '/doomed']);
  });

  it('does not retry a failure of a new connection (it was not stale): the error is reported as it is', async () => {
    const server = await flaky(() => 'close');
    const { pool, events } = poolFor();
    const error = (await request(`${server.origin}/first`, { dispatcher: pool.dispatcher() }).catch((caught: unknown) => caught)) as { code?: string };
    expect(error).not.toBeInstanceOf(StaleConnectionError);
    expect(error.code).toBe('UND_ERR_SOCKET');
    expect(retries(events)).toEqual([]);
  });

  it('retries nothing with { retry: false }', async () => {
    const server = await flaky(staleOnReuse('close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    // Same Client options: it shares the default dispatcher's connections, the warm one too.
    const dispatcher = pool.dispatcher({ retry: false });
    const error = (await request(`${server.origin}/again`, { dispatcher }).catch((caught: unknown) => caught)) as { code?: string };
    expect(error.code).toBe('UND_ERR_SOCKET');
    expect(retries(events)).toEqual([]);
  });

  it('the retried request leaves no lease behind and the stale connection leaves the pool', async () => {
    const server = await flaky(staleOnReuse('close'));
    const { pool, events } = poolFor();
    await warm(pool, server);
    await (await request(`${server.origin}/again`, { dispatcher: pool.dispatcher() })).body.text();
    await waitFor(() => pool.stats().leases === 0, 'every lease to be back');
    expect(pool.connections().map((info) => info.id)).toEqual(['c2']);
    expect(events.filter((event) => event.type === 'connection-closed').map((event) => 'reason' in event && event.reason)).toEqual([
      expect.stringMatching(/^(peer-closed|no-new-exchanges)$/),
    ]);
  });
});
