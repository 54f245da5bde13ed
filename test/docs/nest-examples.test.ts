import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool, type SocketTransport } from '../../src/index.js';
import { getConnectionPoolToken } from '../../src/nest/index.js';

// The examples of docs/nest.md (files of examples/, shown word for word there: see
// test/docs/doc-snippets.test.ts), run as applications against real servers on loopback.

const apps: INestApplication[] = [];
const servers: Array<() => void> = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const close of servers.splice(0)) close();
  for (const name of ['ADMIN_TOKEN', 'PAYMENTS_MAX_CONNECTIONS', 'PAYMENTS_KEEP_ALIVE', 'SEARCH_MAX_IDLE']) delete process.env[name];
});

async function startApp(module: unknown): Promise<INestApplication> {
  const app = await NestFactory.create(module as never, { logger: false, abortOnError: false });
  apps.push(app);
  await app.init();
  return app;
}

interface LineServer {
  readonly url: string;
  accepted(): number;
  /** Stops listening and cuts every connection. */
  close(): void;
}

/** A line server on loopback: `answer` says what to send back for each line; counts connections. */
async function startLineServer(answer: (line: string) => string, closeAfterEach = true): Promise<LineServer> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        socket.write(answer(buffered.slice(0, end)));
        buffered = buffered.slice(end + 1);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = (): void => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  if (closeAfterEach) servers.push(close);
  return { url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, accepted: () => accepted, close };
}

describe('docs/nest.md: a raw TCP exchange over a lease (examples/nest-raw-tcp.ts)', () => {
  // One server for the example (its address is read once, when the example is imported): it
  // echoes each line, and answers the line "twice" with two lines.
  let upstream: LineServer;
  beforeAll(async () => {
    upstream = await startLineServer((line) => (line === 'twice' ? `${line}\n${line}\n` : `${line}\n`), false);
    process.env.ECHO_SERVER = upstream.url;
  });
  afterAll(() => upstream.close());

  it('reuses its connection from one exchange to the next', async () => {
    const { EchoModule } = await import('../../examples/nest-raw-tcp.js');
    const app = await startApp(EchoModule);
    const before = upstream.accepted();
    await request(app.getHttpServer()).get('/echo?text=hello').expect(200, 'hello');
    await request(app.getHttpServer()).get('/echo?text=again').expect(200, 'again');
    expect(upstream.accepted() - before).toBe(1);
    expect(app.get<ConnectionPool>(getConnectionPoolToken('echo')).stats().totals).toMatchObject({ connects: 1, reused: 1 });
  });

  it('closes a connection whose answer went past what was asked, and never hands it out again', async () => {
    const { EchoModule } = await import('../../examples/nest-raw-tcp.js');
    const app = await startApp(EchoModule);
    const pool = app.get<ConnectionPool>(getConnectionPoolToken('echo'));
    const closed: string[] = [];
    pool.events$.subscribe((event) => {
      if (event.type === 'connection-closed') closed.push(event.reason);
    });
    const before = upstream.accepted();
    await request(app.getHttpServer()).get('/echo?text=twice').expect(500);
    expect(closed).toEqual(['no-new-exchanges']);
    await request(app.getHttpServer()).get('/echo?text=after').expect(200, 'after');
    expect(upstream.accepted() - before).toBe(2);
  });

  it('rule 1: a socket used without attach() is unfit when it goes back (the bytes it read arrived while the pool watched it), so it is never reused', async () => {
    const upstream = await startLineServer((line) => `${line}\n`);
    const pool = new ConnectionPool({ keepAlive: '30s' });
    const closed: string[] = [];
    pool.events$.subscribe((event) => {
      if (event.type === 'connection-closed') closed.push(event.reason);
    });
    try {
      for (const text of ['one', 'two']) {
        const lease = await pool.acquire(upstream.url);
        const socket = (lease.transport as SocketTransport).socket; // no attach(): the mistake
        const reply = once(socket, 'data');
        socket.write(`${text}\n`);
        expect(String((await reply)[0])).toBe(`${text}\n`);
        lease.release();
      }
      expect(upstream.accepted()).toBe(2);
      expect(closed).toEqual(['unhealthy']);
    } finally {
      await pool.close();
    }
  });

  it('rule 3: detach() says false for bytes left unread, and noNewExchanges() then closes the connection at release', async () => {
    const upstream = await startLineServer((line) => `${line}\n${line}\n`);
    const pool = new ConnectionPool({ keepAlive: '30s' });
    try {
      const lease = await pool.acquire(upstream.url);
      const transport = lease.transport as SocketTransport;
      const socket = transport.attach();
      socket.write('x\n');
      // Read one byte and leave the rest in the socket's buffer: an answer half read.
      await once(socket, 'readable');
      expect(socket.read(1)).toEqual(Buffer.from('x'));
      expect(transport.detach()).toBe(false);
      lease.noNewExchanges();
      lease.release();
      expect(pool.connectionCount()).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

describe('docs/nest.md: options from ConfigService (examples/nest-config.ts)', () => {
  it('reads the environment\'s strings as numbers and durations, for forRootAsync with useFactory and with useClass', async () => {
    Object.assign(process.env, { PAYMENTS_MAX_CONNECTIONS: '8', PAYMENTS_KEEP_ALIVE: '30000', SEARCH_MAX_IDLE: '3' });
    const { AppModule } = await import('../../examples/nest-config.js');
    const app = await startApp(AppModule);
    expect(app.get<ConnectionPool>(getConnectionPoolToken('payments')).options).toMatchObject({ maxConnections: 8, keepAliveMs: 30_000, acquireTimeoutMs: 5_000 });
    expect(app.get<ConnectionPool>(getConnectionPoolToken('search')).options.maxIdleConnections).toBe(3);
  });

  it('stops the application on a string that is no valid value, naming the pool, the option and the string', async () => {
    process.env.PAYMENTS_MAX_CONNECTIONS = 'eight';
    const { AppModule } = await import('../../examples/nest-config.js');
    await expect(NestFactory.create(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(
      /^ConnectionPoolModule, pool "payments": Invalid option "maxConnections": "eight"\. Expected an integer >= 1, or Infinity\.$/,
    );
  });
});

describe('docs/nest.md: readiness and liveness (examples/nest-health.ts)', () => {
  it('answers both probes for the default pool and the named one', async () => {
    const { HealthAppModule } = await import('../../examples/nest-health.js');
    const app = await startApp(HealthAppModule);
    const ready = await request(app.getHttpServer()).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { pool: { status: 'up', pool: 'default' }, payments: { status: 'up', pool: 'payments', windowMs: 60_000 } } });
    const live = await request(app.getHttpServer()).get('/health/live').expect(200);
    expect(live.body).toMatchObject({ status: 'ok', info: { pool: { status: 'up' } } });
  });
});

describe('docs/nest.md: the modules together (examples/nest-modules.ts)', () => {
  it('serves the probes, the metrics of both pools on /metrics, and the event stream route', async () => {
    const { AppModule } = await import('../../examples/nest-modules.js');
    const app = await startApp(AppModule);
    const server = app.getHttpServer();
    await request(server).get('/health/ready').expect(200);
    const metrics = await request(server).get('/metrics').expect(200);
    expect(metrics.text).toContain('connection_pool_acquisitions_total{pool="default",reused="true"} 0');
    expect(metrics.text).toContain('connection_pool_acquisitions_total{pool="payments",reused="true"} 0');
    // A bad filter is refused before any stream starts: the route is there.
    const refused = await request(server).get('/connection-pool/events?type=nonsense').expect(400);
    expect(refused.text).toContain('nonsense');
  });
});

describe('docs/nest.md: the event stream behind a guard (examples/nest-events-guard.ts)', () => {
  it('refuses a request without the token, and serves one with it', async () => {
    process.env.ADMIN_TOKEN = 'a-token-of-sixteen-chars';
    const { AdminModule } = await import('../../examples/nest-events-guard.js');
    const app = await startApp(AdminModule);
    const server = app.getHttpServer();
    await request(server).get('/admin/pool-events').expect(403);
    await request(server).get('/connection-pool/events').expect(404);
    await request(server).get('/admin/pool-events?type=nonsense').set('authorization', 'Bearer a-token-of-sixteen-chars').expect(400);
  });
});
