import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { Controller, Query, Sse, type INestApplication, type MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { Connector } from '../../src/pool/index.js';
import {
  ConnectionPoolEventsModule,
  ConnectionPoolEventsService,
  ConnectionPoolModule,
  POOL_EVENT_TYPES,
  getConnectionPoolToken,
  type ConnectionPoolEventsOptions,
  type PoolEventsQuery,
} from '../../src/nest/index.js';
import { LoopbackServer } from './support/loopback-server.js';
import { createApp } from './support/nest-app.js';
import { SseClient } from './support/sse-client.js';
import { tcpConnector } from './support/tcp-connector.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { waitFor } from '../support/wait-for.js';

/** A connector whose every connect fails at once, with a message carrying credentials and a long tail. */
const refusing: Connector = {
  async connect() {
    throw Object.assign(new Error(`connect ECONNREFUSED via http://user:hunter2@proxy.test:3128 ${'x'.repeat(3_000)}`), {
      code: 'ECONNREFUSED',
      secret: 'hunter2',
    });
  },
};

/** A route of the application's own, on Nest's @Sse(). */
@Controller()
class OwnEventsController {
  constructor(private readonly events: ConnectionPoolEventsService) {}

  @Sse('own-events')
  stream(@Query() query: PoolEventsQuery): Observable<MessageEvent> {
    return this.events.messages(query);
  }
}

let upstream: LoopbackServer;
let clock: VirtualClock;
let app: INestApplication | undefined;
let base: string;
const clients: SseClient[] = [];

beforeEach(async () => {
  upstream = await new LoopbackServer().start();
  clock = new VirtualClock();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await app?.close();
  app = undefined;
  await upstream.stop();
});

async function start(options: ConnectionPoolEventsOptions = {}) {
  app = await createApp({
    imports: [
      ConnectionPoolModule.forRoot({ connector: tcpConnector, scheduler: clock.scheduler }),
      ConnectionPoolModule.forRoot({ name: 'flaky', connector: refusing, scheduler: clock.scheduler }),
      ConnectionPoolEventsModule.forRoot(options),
    ],
    controllers: [OwnEventsController],
  });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  return {
    pool: app.get(ConnectionPool),
    flaky: app.get<ConnectionPool>(getConnectionPoolToken('flaky')),
    service: app.get(ConnectionPoolEventsService),
  };
}

async function open(path: string): Promise<SseClient> {
  const client = await SseClient.connect(`${base}${path}`);
  clients.push(client);
  return client;
}

async function openStream(path = '/connection-pool/events'): Promise<SseClient> {
  const client = await open(path);
  expect(client.statusCode).toBe(200);
  await client.until((c) => c.events.some((e) => e.comment === 'connected'), 'the stream to open');
  return client;
}

describe('the event stream (ConnectionPoolEventsModule)', () => {
  it('sends the pool events to a real HTTP client, in order, with ids and types', async () => {
    const { pool } = await start();
    const client = await openStream();
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');

    (await pool.acquire(upstream.url)).release();
    (await pool.acquire(upstream.url)).release();
    await client.until((c) => c.messages.length >= 6, 'six events');

    expect(client.messages.map((e) => [e.id, e.event])).toEqual([
      ['1', 'connect-start'],
      ['2', 'connect-end'],
      ['3', 'connection-acquired'],
      ['4', 'connection-released'],
      ['5', 'connection-acquired'],
      ['6', 'connection-released'],
    ]);
    const address = `tcp://127.0.0.1:${upstream.port}`;
    const [connectStart, connectEnd, acquired, released, reacquired] = client.poolEvents;
    expect(connectStart).toEqual({ type: 'connect-start', at: 0, connectionId: 'c1', address });
    expect(connectEnd).toEqual({ type: 'connect-end', at: 0, connectionId: 'c1', address, durationMs: 0 });
    expect(acquired).toEqual({ type: 'connection-acquired', at: 0, connectionId: 'c1', address, reused: false, allocations: 1, allocationLimit: 1, waitedMs: 0 });
    expect(released).toEqual({ type: 'connection-released', at: 0, connectionId: 'c1', address, allocations: 0, allocationLimit: 1, heldMs: 0 });
    expect(reacquired).toMatchObject({ type: 'connection-acquired', reused: true });
  });

  it('filters by type (comma-separated or repeated) and by address', async () => {
    const { pool } = await start();
    const other = await new LoopbackServer().start();
    try {
      const byType = await openStream('/connection-pool/events?type=connect-start,connection-closed');
      const repeated = await openStream('/connection-pool/events?type=connect-start&type=connection-closed');
      const byAddress = await openStream(`/connection-pool/events?address=${encodeURIComponent(`tcp://127.0.0.1:${other.port}`)}`);
      (await pool.acquire(upstream.url)).release();
      (await pool.acquire(other.url)).release();
      expect(pool.evictAll()).toBe(2);
      await byType.until((c) => c.messages.length >= 4, 'four filtered events');
      await byAddress.until((c) => c.messages.length >= 5, "the other address's events");
      await repeated.until((c) => c.messages.length >= 4, 'four filtered events');

      expect(byType.poolEvents.map((e) => [e.type, e.address])).toEqual([
        ['connect-start', `tcp://127.0.0.1:${upstream.port}`],
        ['connect-start', `tcp://127.0.0.1:${other.port}`],
        ['connection-closed', `tcp://127.0.0.1:${upstream.port}`],
        ['connection-closed', `tcp://127.0.0.1:${other.port}`],
      ]);
      expect(byType.poolEvents.map((e) => e.reason)).toEqual([undefined, undefined, 'evict-all', 'evict-all']);
      expect(repeated.poolEvents).toEqual(byType.poolEvents);
      expect(byAddress.poolEvents.map((e) => e.type)).toEqual([
        'connect-start',
        'connect-end',
        'connection-acquired',
        'connection-released',
        'connection-closed',
      ]);
      expect(new Set(byAddress.poolEvents.map((e) => e.address))).toEqual(new Set([`tcp://127.0.0.1:${other.port}`]));
    } finally {
      await other.stop();
    }
  });

  it('streams a named pool, and serialises errors as { name, message, code } with secrets redacted', async () => {
    const { flaky } = await start();
    const client = await openStream('/connection-pool/events?pool=flaky&type=connect-failed');
    await expect(flaky.acquire('tcp://db.test:5432')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await client.until((c) => c.messages.length >= 1, 'the connect-failed event');
    const [failed] = client.poolEvents;
    expect(failed).toMatchObject({ type: 'connect-failed', address: 'tcp://db.test:5432', connectionId: 'c1' });
    const error = failed?.error as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'name']);
    expect(error).toMatchObject({ name: 'Error', code: 'ECONNREFUSED' });
    expect(error.message).toMatch(/^connect ECONNREFUSED via http:\/\/\*\*\*@proxy\.test:3128 x+…$/);
    expect((error.message as string).length).toBe(2_001);
    expect(JSON.stringify(client.events)).not.toContain('hunter2');
  });

  it('answers 400 for an unknown event type (listing the known ones) and 404 for an unknown pool', async () => {
    await start();
    const http = request(app!.getHttpServer());
    const badType = await http.get('/connection-pool/events?type=connect-start,conect-end').expect(400);
    expect(badType.body.message).toBe(`Invalid option "type": "conect-end". Expected event types among ${POOL_EVENT_TYPES.join(', ')} (comma-separated).`);
    const unknownPool = await http.get('/connection-pool/events?pool=payments').expect(404);
    expect(unknownPool.body.message).toBe('No connection pool is named "payments" (pools: default, flaky).');
    await http.get('/connection-pool/events?pool=a&pool=b').expect(400);
    expect(app!.get(ConnectionPoolEventsService).clients()).toEqual([]);
  });

  it('keeps a stuck client to a bounded buffer, counts what it drops, and reports it once the client reads again', async () => {
    const { flaky, service } = await start({ maxBufferedEvents: 50, heartbeat: false });
    const client = await openStream('/connection-pool/events?pool=flaky');
    client.pause();

    // Each failed connect makes two events (~2 KB together). Between batches the event loop
    // turns, so the server's socket writes whatever the kernel takes: events queue only once
    // the socket buffers are full, and are dropped only once the queue is too.
    let failures = 0;
    const fail = async (): Promise<void> => {
      failures++;
      await flaky.acquire('tcp://db.test:5432').catch(() => undefined);
    };
    const batch = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) await fail();
      await new Promise((resolve) => setImmediate(resolve));
      expect(service.clients()[0]?.queued).toBeLessThanOrEqual(50);
    };
    while ((service.clients()[0]?.dropped ?? 0) === 0 && failures < 200_000) await batch();
    const firstDrop = service.clients()[0]?.dropped ?? 0;
    expect(firstDrop).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) await batch();

    const [stuck] = service.clients();
    expect(stuck).toMatchObject({ pool: 'flaky', queued: 50, backedUp: true });
    // Everything since the queue filled was dropped: the written count did not move.
    expect(stuck?.dropped).toBeGreaterThanOrEqual(firstDrop + 400);
    expect((stuck?.written ?? 0) + (stuck?.queued ?? 0) + (stuck?.dropped ?? 0)).toBe(failures * 2);

    client.resume();
    await waitFor(() => service.clients()[0]?.backedUp === false && service.clients()[0]?.queued === 0, 'the queue to drain');
    await fail(); // after the gap: written at once
    const total = failures * 2;
    await client.until((c) => c.messages.some((e) => e.id === String(total)), 'the last event');

    const dropped = client.messages.filter((e) => e.event === 'dropped').map((e) => JSON.parse(e.data ?? '{}'));
    expect(dropped.reduce((sum, d) => sum + d.dropped, 0)).toBe(service.clients()[0]?.dropped);
    expect(dropped.at(-1)?.totalDropped).toBe(service.clients()[0]?.dropped);
    // Ids run in order, and the gaps are exactly the drops.
    const ids = client.messages.filter((e) => e.event !== 'dropped').map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.length + (service.clients()[0]?.dropped ?? 0)).toBe(total);
    expect(ids.at(-1)).toBe(total);
  });

  it('ends the stream when the pool closes, after pool-closing and pool-closed', async () => {
    const { pool, service } = await start();
    const client = await openStream();
    await pool.close();
    await client.until((c) => c.ended, 'the stream to end');
    expect(client.poolEvents.map((e) => e.type)).toEqual(['pool-closing', 'pool-closed']);
    expect(service.clients()).toEqual([]);
  });

  it('forgets a client that disconnects', async () => {
    const { service } = await start();
    const client = await openStream();
    expect(service.clients()).toHaveLength(1);
    client.close();
    await waitFor(() => service.clients().length === 0, 'the server to see the client go');
  });

  it('forgets at once a client that left before its stream opened', async () => {
    const { service } = await start();
    const gone = Object.assign(new Writable({ write: (_chunk, _encoding, callback) => callback() }), { writeHead: () => gone });
    gone.destroy();
    service.stream({} as IncomingMessage, gone as unknown as ServerResponse);
    expect(service.clients()).toEqual([]);
  });

  it('writes a heartbeat comment on the pool scheduler while the stream is idle', async () => {
    await start({ heartbeat: '10s' });
    const client = await openStream();
    clock.advanceBy(9_999);
    clock.advanceBy(1);
    await client.until((c) => c.events.some((e) => e.comment === 'heartbeat'), 'a heartbeat');
    expect(client.events.filter((e) => e.comment === 'heartbeat')).toHaveLength(1);
    expect(client.messages).toEqual([]);
  });

  it('app.close() ends open streams rather than wait for them', async () => {
    await start();
    const ours = await openStream();
    const own = await open('/own-events');
    await app!.close();
    app = undefined;
    await ours.until((c) => c.ended, 'our stream to end');
    await own.until((c) => c.ended, 'the @Sse stream to end');
  });

  it('refuses new streams once shutdown has begun (503), so that none holds the closing server open', async () => {
    const { service } = await start();
    service.beforeApplicationShutdown();
    const http = request(app!.getHttpServer());
    const refused = await http.get('/connection-pool/events').expect(503);
    expect(refused.body.message).toBe('The application is shutting down: no new event streams.');
    await http.get('/own-events').expect(503);
    expect(() => service.messages()).toThrow(/shutting down/);
  });

  it('mounts the controller at the path given, or none with path: false', async () => {
    await start({ path: 'ops/pool-events' });
    await openStream('/ops/pool-events');
    await request(app!.getHttpServer()).get('/connection-pool/events').expect(404);
    await app!.close();
    app = undefined;
    await start({ path: false });
    await request(app!.getHttpServer()).get('/connection-pool/events').expect(404);
    expect(app!.get(ConnectionPoolEventsService)).toBeInstanceOf(ConnectionPoolEventsService);
  });

  it('rejects bad options when the module is declared, naming them', () => {
    expect(() => ConnectionPoolEventsModule.forRoot({ maxBufferedEvents: -1 })).toThrow(/Invalid option "maxBufferedEvents": -1/);
    expect(() => ConnectionPoolEventsModule.forRoot({ heartbeat: 'often' as '1s' })).toThrow(/Invalid option "heartbeat": "often"/);
    expect(() => ConnectionPoolEventsModule.forRoot({ path: 42 as unknown as string })).toThrow(/Invalid option "path": 42/);
  });
});

describe('ConnectionPoolEventsService.messages() on an @Sse() route of the application', () => {
  it('gives filtered, serialised MessageEvents that Nest streams', async () => {
    const { pool } = await start();
    const client = await open('/own-events?type=connection-acquired');
    // Nest subscribes to the route's observable before it sends the headers: it listens now.
    expect(client.statusCode).toBe(200);
    (await pool.acquire(upstream.url)).release();
    await client.until((c) => c.messages.length >= 1, 'the acquired event');
    expect(client.messages[0]).toMatchObject({ id: '1', event: 'connection-acquired' });
    expect(client.poolEvents[0]).toMatchObject({ type: 'connection-acquired', reused: false, address: `tcp://127.0.0.1:${upstream.port}` });
  });

  it('throws 400 / 404 before streaming for a bad query', async () => {
    await start();
    await request(app!.getHttpServer()).get('/own-events?type=nope').expect(400);
    await request(app!.getHttpServer()).get('/own-events?pool=nope').expect(404);
  });
});
