import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import got from 'got';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testCerts } from '../support/certs.js';
import { startHttp2Server } from '../support/http2-servers.js';
import { LOOPBACK } from '../support/local-servers.js';
import { agentFactory, onBothSides } from './support/peers.js';

/**
 * Issue 18, item 15: got's HTTP/2 tests hung with the pool's agents as Node's global agents.
 * got 14's `http2: true` goes through http2-wrapper: it first opens a TLS socket of its own
 * to learn by ALPN what the server speaks. For `h2` it uses its own session pool (the agents
 * play no part); for `http/1.1` it hands that socket to `https.globalAgent` by emitting the
 * agent's `'free'` event (Node's agent files it as a free socket and the request reuses it)
 * and then sends the request through the agent. The PooledAgent used to leave that socket in
 * Node's free list, which it never reads, and open a second connection: the unused socket
 * stayed open, and a test's `server.close()` waited for it until the server's own timeouts.
 * Its "send timeout" test waits for the socket's `'connect'` event to advance its fake clock,
 * which a pooled socket never emitted (item 8).
 */

const agents = agentFactory();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  await agents.closeAll();
});

/** Node's http and https modules themselves (an ES namespace cannot be assigned to), as got's setup sets their global agents. */
const nodeModules = { http: createRequire(import.meta.url)('node:http') as { globalAgent: http.Agent }, https: createRequire(import.meta.url)('node:https') as { globalAgent: http.Agent } };

function useGlobalAgents(httpAgent: http.Agent, httpsAgent: http.Agent): void {
  const previous = { http: nodeModules.http.globalAgent, https: nodeModules.https.globalAgent };
  nodeModules.http.globalAgent = httpAgent;
  nodeModules.https.globalAgent = httpsAgent;
  cleanups.push(() => {
    nodeModules.http.globalAgent = previous.http;
    nodeModules.https.globalAgent = previous.https;
  });
}

describe("got's http2: true with the agents as Node's global agents", () => {
  it('against a server that speaks only HTTP/1.1: the ALPN probe socket carries the request, and the server closes', async () => {
    const certs = testCerts();
    const outcomes = await onBothSides(async (side) => {
      // A server of its own for each side: http2-wrapper remembers each origin's protocol,
      // and probes only an origin it does not know.
      const server = https.createServer({ cert: certs.server.cert, key: certs.server.key }, (req, res) => res.end(`HTTP/${req.httpVersion}`));
      let connections = 0;
      server.on('secureConnection', () => connections++);
      server.listen(0, LOOPBACK);
      await once(server, 'listening');
      const port = (server.address() as { port: number }).port;
      useGlobalAgents(agents.make(side), agents.make(side, { https: true }));
      const response = await got(`https://${LOOPBACK}:${port}/`, { http2: true, https: { certificateAuthority: certs.ca.cert }, retry: { limit: 0 } });
      // Node's server.close() waits for every connection, and ends the idle ones that served a
      // request: one left open for nothing would hold it up.
      const closed = once(server, 'close');
      server.close();
      await closed;
      return { body: response.body, connections };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ body: 'HTTP/1.1', connections: 1 });
  });

  it("against an HTTP/2 server: http2-wrapper's own sessions carry it, and the pool is not involved", async () => {
    const h2 = await startHttp2Server((stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(String(headers[':path']));
    });
    cleanups.push(() => h2.close());
    const outcomes = await onBothSides(async (side) => {
      useGlobalAgents(agents.make(side), agents.make(side, { https: true }));
      const options = { http2: true, https: { certificateAuthority: testCerts().ca.cert }, retry: { limit: 0 } };
      const first = await got(`${h2.origin}/one`, options);
      const second = await got(`${h2.origin}/two`, options);
      return { bodies: [first.body, second.body], versions: [first.httpVersion, second.httpVersion] };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ bodies: ['/one', '/two'], versions: ['2.0', '2.0'] });
    expect(agents.pools.every((pool) => pool.connections().length === 0)).toBe(true);
  });

  it("got's send timeout under fake timers: the clock moves on the socket's 'connect', and the request times out", async () => {
    const upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('too late'));
    });
    upstream.listen(0, LOOPBACK);
    await once(upstream, 'listening');
    cleanups.push(() => {
      upstream.closeAllConnections();
      upstream.close();
    });
    const port = (upstream.address() as { port: number }).port;
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side);
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const request = got.post(`http://${LOOPBACK}:${port}/`, { agent: { http: agent }, timeout: { send: 1 }, body: new PassThrough(), retry: { limit: 0 } });
        request.on('request', (req: http.ClientRequest) => {
          req.once('socket', (socket: Socket) => socket.once('connect', () => vi.advanceTimersByTime(10)));
        });
        const error = await request.then(
          () => null,
          (e: unknown) => e as { name: string; code: string; message: string },
        );
        return { name: error?.name, code: error?.code, message: error?.message };
      } finally {
        vi.useRealTimers();
      }
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ name: 'TimeoutError', code: 'ETIMEDOUT', message: "Timeout awaiting 'send' for 1ms" });
  });
});
