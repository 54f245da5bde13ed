import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from '../support/http-servers.js';
import { LOOPBACK } from '../support/local-servers.js';
import { agentFactory, onBothSides } from './support/peers.js';

/**
 * A server at a rolling restart (Node's `server.close()`, Go's `Shutdown`) closes each
 * keep-alive connection as soon as its response is out, with no `Connection: close`: the
 * client learns of it only from the FIN. A client that sends its next request as soon as a
 * response has ended (from the response's 'end', as every promise-based client does) has
 * that FIN in the kernel's receive buffer, not yet read by the event loop, when it picks the
 * connection for the next request.
 *
 * Node 24's http.Agent asks the kernel before it reuses a free socket (lib/_http_agent.js,
 * `hasPendingRead(socket)`), finds the FIN and sends the request on a new connection; Node
 * 20's does not, and writes the request onto the closed connection (ECONNRESET). The
 * PooledAgent, a drop-in for it, must lose no more than Node's own agent on the Node it runs
 * on. Client and server share this thread, so the order is fixed, not raced: the server
 * closes the connection (its `setImmediate` after the response) before the client's next
 * poll of the network reads the response.
 */

/** Requests in a row, each sent as soon as the previous response has ended. */
const IN_A_ROW = 20;

const agents = agentFactory();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  await agents.closeAll();
});

/** A server that closes every connection once its response is out, as one that is stopping. */
async function stoppingServer(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    readBody(req).then(() => res.end('ok'));
    res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
  });
  server.keepAliveTimeout = 0;
  server.on('connection', (socket: net.Socket) => {
    connections++;
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

/** One GET, resolving with its body or the error it failed with (and whether its socket was a reused one). */
function get(agent: http.Agent, url: string): Promise<{ body: string } | { code: unknown; reused: boolean }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      readBody(res).then(
        (body) => resolve({ body }),
        (error: NodeJS.ErrnoException) => resolve({ code: error.code, reused: req.reusedSocket }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ code: error.code, reused: req.reusedSocket }));
  });
}

/** Whether this Node's sockets can tell what waits unread in the kernel (what Node 24's agent asks). */
async function socketsCanAskTheKernel(port: number): Promise<boolean> {
  const socket = net.connect(port, LOOPBACK);
  await once(socket, 'connect');
  const handle = (socket as net.Socket & { _handle?: { hasPendingRead?: unknown } | null })._handle;
  socket.destroy();
  return typeof handle?.hasPendingRead === 'function';
}

describe('a server that closes each connection once its response is out', () => {
  it('costs the PooledAgent no more requests than Node’s http.Agent on this Node version, each next request sent at once', async () => {
    let askTheKernel = false;
    const outcomes = await onBothSides(async (side) => {
      const server = await stoppingServer();
      const agent = agents.make(side);
      const url = `http://${LOOPBACK}:${server.port}/`;
      askTheKernel = await socketsCanAskTheKernel(server.port);
      const failures: Array<{ code: unknown; reused: boolean }> = [];
      for (let i = 0; i < IN_A_ROW; i++) {
        const outcome = await get(agent, url);
        if ('code' in outcome) failures.push(outcome);
        else expect(outcome.body).toBe('ok');
      }
      // Less the one made to ask whether sockets can ask the kernel.
      return { failures, connections: server.connections() - 1 };
    });

    // Every connection was closed after its response: each request served came on a new one.
    expect(outcomes.peer.connections).toBe(IN_A_ROW - outcomes.peer.failures.length);
    expect(outcomes.pool.connections).toBe(IN_A_ROW - outcomes.pool.failures.length);
    // What is lost is the request written onto the closed connection, and the caller can tell.
    for (const failure of [...outcomes.peer.failures, ...outcomes.pool.failures]) {
      expect(failure).toEqual({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/), reused: true });
    }
    expect(outcomes.pool.failures.length).toBeLessThanOrEqual(outcomes.peer.failures.length);
    if (askTheKernel) {
      // Node 24: its agent sees the FIN waiting in the kernel and sends elsewhere; so must the pool's.
      expect(outcomes.peer.failures).toEqual([]);
      expect(outcomes.pool.failures).toEqual([]);
    } else {
      // Node 20: its agent reuses the closed connection each time it has one (every other request).
      expect(outcomes.peer.failures).toHaveLength(IN_A_ROW / 2);
    }
  });
});
