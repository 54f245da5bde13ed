import { EventEmitter, once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent as UndiciAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { get } from '../support/http-servers.js';
import { LOOPBACK } from '../support/local-servers.js';

/**
 * A server that closes idle keep-alive connections at its own timeout, as nginx does, and
 * sends no Keep-Alive hint: a client learns of the close only when the FIN arrives, and a
 * request sent just then is lost. Every GET below is sent as the server's timers fire: the
 * clients wait for the server to close an idle connection (a real event, no sleep) and then
 * send a batch at once, over connections that are being closed at that very moment.
 */
const TOTAL = 2_000;
const CONCURRENCY = 8;
const IDLE_TIMEOUT_MS = 5;

class IdleClosingServer extends EventEmitter {
  readonly server: http.Server;
  port = 0;
  readonly sockets = new Set<Socket>();

  constructor() {
    super();
    this.server = http.createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
    });
    // No timeout of Node's own (and so no Keep-Alive header): this server's timer below closes them.
    this.server.keepAliveTimeout = 0;
    this.server.on('connection', (socket: Socket) => {
      socket.on('error', () => undefined);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      let timer: NodeJS.Timeout | null = null;
      // The idle timer runs from the end of each response until the next request arrives.
      socket.on('response-sent', () => {
        timer = setTimeout(() => {
          socket.destroy();
          this.emit('idle-close');
        }, IDLE_TIMEOUT_MS);
      });
      socket.on('data', () => {
        if (timer) clearTimeout(timer);
        timer = null;
      });
    });
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.once('finish', () => req.socket.emit('response-sent'));
    });
  }

  async start(): Promise<void> {
    this.server.listen(0, LOOPBACK);
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  get origin(): string {
    return `http://${LOOPBACK}:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const closed = once(this.server, 'close');
    this.server.close();
    await closed;
  }
}

/** Sends TOTAL GETs in batches, each batch as soon as the server closes an idle connection. Returns how many failed. */
async function hitAcrossTheBoundary(server: IdleClosingServer, send: () => Promise<void>): Promise<number> {
  let failures = 0;
  for (let sent = 0; sent < TOTAL; sent += CONCURRENCY) {
    const batch = Math.min(CONCURRENCY, TOTAL - sent);
    const closing = once(server, 'idle-close');
    let answered = 0;
    await Promise.all(
      Array.from({ length: batch }, () =>
        send().then(
          () => void answered++,
          () => void failures++,
        ),
      ),
    );
    // Each answered request leaves an idle connection whose timer will fire; a batch that
    // lost every request leaves none to wait for.
    if (answered > 0) await closing;
  }
  return failures;
}

let server: IdleClosingServer;
beforeAll(async () => {
  server = new IdleClosingServer();
  await server.start();
});
afterAll(async () => {
  await server.close();
});

describe(`${TOTAL} GETs to a server that closes idle connections at its own timeout`, () => {
  it('lose none through pool.dispatcher(), while plain undici and http.Agent lose some (counted, not asserted)', async () => {
    const pool = new ConnectionPool({ drainTimeout: '1s', maxIdleConnections: CONCURRENCY });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));
    const dispatcher = pool.dispatcher();
    const poolFailures = await hitAcrossTheBoundary(server, async () => {
      const { body } = await request(server.origin, { dispatcher });
      await body.text();
    });

    const undiciAgent = new UndiciAgent();
    const undiciFailures = await hitAcrossTheBoundary(server, async () => {
      const { body } = await request(server.origin, { dispatcher: undiciAgent });
      await body.text();
    });
    await undiciAgent.close();

    const nodeAgent = new http.Agent({ keepAlive: true });
    const nodeFailures = await hitAcrossTheBoundary(server, async () => {
      await get(server.origin, { agent: nodeAgent });
    });
    nodeAgent.destroy();

    const agentPool = new ConnectionPool({ drainTimeout: '1s', maxIdleConnections: CONCURRENCY });
    const pooledAgentFailures = await hitAcrossTheBoundary(server, async () => {
      await get(server.origin, { agent: agentPool.httpAgent() });
    });
    await agentPool.close();
    await pool.close();

    const retried = events.filter((event) => event.type === 'retry').length;
    const detectedIdle = events.filter((event) => event.type === 'connection-closed' && event.reason === 'peer-closed').length;
    console.log(
      `stale connections, ${TOTAL} GETs each across a ${IDLE_TIMEOUT_MS} ms server idle timeout, ${CONCURRENCY} at a time: ` +
        `pool.dispatcher() ${poolFailures} failed (${retried} retried, ${detectedIdle} closed connections seen before use); ` +
        `undici Agent ${undiciFailures} failed; http.Agent ${nodeFailures} failed; PooledAgent (cannot retry) ${pooledAgentFailures} failed`,
    );
    expect(poolFailures).toBe(0);
    // The run did meet connections the server had closed (else it proves nothing).
    expect(retried + detectedIdle).toBeGreaterThan(0);
  }, 120_000);
});
