import { once } from 'node:events';
import { createRequire } from 'node:module';
import * as http from 'node:http';
import * as https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testCerts } from '../support/certs.js';
import { readBody, startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { LOOPBACK, unusedPort } from '../support/local-servers.js';
import { waitFor } from '../support/wait-for.js';
import { agentFactory, describeError, onBothSides } from './support/peers.js';

/**
 * The PooledAgent against Node's own http.Agent, behaviour by behaviour (issue 18, items
 * 7-14): each test runs the same scenario with both agents and expects the same outcome, so
 * that a difference shows as a failure, and pins down what that outcome is.
 */

const agents = agentFactory();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  await agents.closeAll();
});

/** A server that answers each request with the client port of its connection. */
async function portEcho(options: { tls?: boolean } = {}): Promise<HttpTestServer> {
  const certs = testCerts();
  const server = await startHttpServer(
    (req, res) => {
      readBody(req).then(() => res.end(String(req.socket.remotePort)));
    },
    options.tls ? { tls: { cert: certs.server.cert, key: certs.server.key } } : {},
  );
  cleanups.push(() => server.close());
  return server;
}

interface Sent {
  readonly body: string;
  readonly req: http.ClientRequest;
  readonly res: http.IncomingMessage;
}

/** One request with `agent`, read to the end. */
function send(agent: http.Agent, url: string, options: https.RequestOptions = {}, hooks: { onRequest?: (req: http.ClientRequest) => void } = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.request(url, { agent, ...options }, (res) => {
      readBody(res).then((body) => resolve({ body, req, res }), reject);
    });
    req.on('error', reject);
    hooks.onRequest?.(req);
    req.end();
  });
}

/** The agent's lists, as counts by name. */
function holdings(agent: http.Agent, name: string): { sockets: number; free: number; requests: number; total: number } {
  return {
    sockets: agent.sockets[name]?.length ?? 0,
    free: agent.freeSockets[name]?.length ?? 0,
    requests: agent.requests[name]?.length ?? 0,
    total: (agent as http.Agent & { totalSocketCount: number }).totalSocketCount,
  };
}

describe('sockets, freeSockets, requests and totalSocketCount say what the agent holds (item 7)', () => {
  it('in use while a request runs; free once it is read; gone once the server closes it', async () => {
    let respond: (() => void) | null = null;
    const upstream = await startHttpServer((_req, res) => {
      respond = () => res.end('done');
    });
    cleanups.push(() => upstream.close());
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side);
      const name = agent.getName({ host: LOOPBACK, port: upstream.port });
      respond = null;
      const sent = send(agent, `${upstream.origin}/`);
      await waitFor(() => respond !== null, 'the request to be in flight');
      const during = holdings(agent, name);
      (respond as unknown as () => void)();
      await sent;
      await waitFor(() => (agent.freeSockets[name]?.length ?? 0) === 1, 'the socket to be free');
      const after = holdings(agent, name);
      const serverSide = upstream.sockets.at(-1) as Socket;
      serverSide.destroy();
      await waitFor(() => agent.freeSockets[name] === undefined, 'the closed socket to leave the free list');
      const closed = holdings(agent, name);
      return { during, after, closed, socketsListDeleted: agent.sockets[name] === undefined };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({
      during: { sockets: 1, free: 0, requests: 0, total: 1 },
      after: { sockets: 0, free: 1, requests: 0, total: 1 },
      closed: { sockets: 0, free: 0, requests: 0, total: 0 },
      socketsListDeleted: true,
    });
  });

  it('requests beyond maxSockets wait in requests[name], and all complete on the agent\'s connections', async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side, { maxSockets: 2 });
      const name = agent.getName({ host: LOOPBACK, port: upstream.port });
      const sent = Array.from({ length: 5 }, () => send(agent, upstream.origin));
      const queued = holdings(agent, name).requests;
      const bodies = await Promise.all(sent);
      return { queued, ports: new Set(bodies.map((b) => b.body)).size, maxSockets: agent.maxSockets };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ queued: 3, ports: 2, maxSockets: 2 });
  });
});

describe("Node's hooks are called, and a new socket says 'connect' (item 8)", () => {
  it('keepSocketAlive, reuseSocket and createConnection, as Node calls them', async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side);
      const calls: string[] = [];
      const base = { keep: agent.keepSocketAlive, reuse: agent.reuseSocket, create: agent.createConnection };
      let keepNext = true;
      agent.keepSocketAlive = function keepSocketAlive(socket) {
        calls.push('keepSocketAlive');
        base.keep.call(this, socket);
        return keepNext;
      };
      agent.reuseSocket = function reuseSocket(socket, req) {
        calls.push(`reuseSocket ${req.path}`);
        base.reuse.call(this, socket, req);
      };
      agent.createConnection = function createConnection(this: http.Agent, options, callback) {
        calls.push(`createConnection ${String((options as { host?: string }).host)}:${String((options as { port?: number }).port)}`);
        return (base.create as (o: unknown, c: unknown) => Socket).call(this, options, callback);
      } as typeof agent.createConnection;
      const first = await send(agent, `${upstream.origin}/1`);
      await waitFor(() => calls.includes('keepSocketAlive'), 'the first connection to be free');
      keepNext = false;
      const second = await send(agent, `${upstream.origin}/2`);
      await waitFor(() => calls.filter((c) => c === 'keepSocketAlive').length === 2, 'the second connection to be refused');
      const third = await send(agent, `${upstream.origin}/3`);
      return {
        calls,
        reused: [first.req.reusedSocket, second.req.reusedSocket, third.req.reusedSocket],
        sameConnection: first.body === second.body,
        newConnectionAfterRefusal: third.body !== second.body,
      };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toMatchObject({
      reused: [false, true, false],
      sameConnection: true,
      newConnectionAfterRefusal: true,
    });
    expect(outcomes.peer.calls.slice(0, 4)).toEqual([`createConnection ${LOOPBACK}:${String(upstream.port)}`, 'keepSocketAlive', 'reuseSocket /2', 'keepSocketAlive']);
    expect(outcomes.peer.calls[4]).toBe(`createConnection ${LOOPBACK}:${String(upstream.port)}`);
  });

  it("a new connection's socket emits 'connect' after the request's 'socket' event; a reused one does not", async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side);
      const seen: string[] = [];
      const watch = (label: string) => (req: http.ClientRequest) =>
        req.once('socket', (socket: Socket) => {
          seen.push(`${label} socket`);
          socket.once('connect', () => seen.push(`${label} connect`));
        });
      await send(agent, `${upstream.origin}/new`, {}, { onRequest: watch('new') });
      await send(agent, `${upstream.origin}/reused`, {}, { onRequest: watch('reused') });
      return seen;
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual(['new socket', 'new connect', 'reused socket']);
  });
});

describe("the agent's timeout (item 9)", () => {
  it("an idle free socket times out: it emits 'timeout', is closed, and leaves the free list", async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side, { timeout: 150 });
      const name = agent.getName({ host: LOOPBACK, port: upstream.port });
      let socket: Socket | undefined;
      await send(agent, upstream.origin, {}, { onRequest: (req) => req.once('socket', (s: Socket) => (socket = s)) });
      await once(socket as Socket, 'timeout');
      await waitFor(() => (socket as Socket).destroyed && agent.freeSockets[name] === undefined, 'the socket to be closed and unlisted');
      return { destroyed: (socket as Socket).destroyed, free: holdings(agent, name).free };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ destroyed: true, free: 0 });
  });
});

describe("Node's Agent options (item 10)", () => {
  it("scheduling: 'fifo' reuses the socket idle longest, 'lifo' the one idle least", async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const result: Record<string, boolean> = {};
      for (const scheduling of ['fifo', 'lifo'] as const) {
        const agent = agents.make(side, { scheduling });
        // Two connections, freed one after the other.
        const a = send(agent, `${upstream.origin}/a`);
        const b = send(agent, `${upstream.origin}/b`);
        const first = await a;
        const second = await b;
        await waitFor(() => (agent.freeSockets[agent.getName({ host: LOOPBACK, port: upstream.port })]?.length ?? 0) === 2, 'both to be free');
        const freedFirst = agent.freeSockets[agent.getName({ host: LOOPBACK, port: upstream.port })]?.[0];
        const next = await send(agent, `${upstream.origin}/c`);
        const firstFreedPort = freedFirst === first.req.socket ? first.body : second.body;
        result[scheduling] = next.body === firstFreedPort;
      }
      return result;
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ fifo: true, lifo: false });
  });

  it("refuses bad options with Node's errors, and reads back the limits it was given", async () => {
    const outcomes = await onBothSides(async (side) => {
      const attempt = (options: http.AgentOptions): unknown => {
        try {
          agents.make(side, options);
          return 'made';
        } catch (error) {
          return describeError(error);
        }
      };
      const limited = agents.make(side, { maxSockets: 5, maxFreeSockets: 3, maxTotalSockets: 7, scheduling: 'fifo', keepAliveMsecs: 2_000 });
      return {
        scheduling: attempt({ scheduling: 'random' as never }),
        totalType: attempt({ maxTotalSockets: 'x' as never }),
        totalRange: attempt({ maxTotalSockets: 0 }),
        read: [limited.maxSockets, limited.maxFreeSockets, (limited as http.Agent & { maxTotalSockets: number }).maxTotalSockets, (limited as http.Agent & { scheduling: string }).scheduling, (limited as http.Agent & { keepAliveMsecs: number }).keepAliveMsecs],
        defaults: [agents.make(side).maxSockets, agents.make(side).maxFreeSockets],
      };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toMatchObject({
      scheduling: { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' },
      totalType: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' },
      totalRange: { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' },
      read: [5, 3, 7, 'fifo', 2_000],
      defaults: [Infinity, 256],
    });
  });
});

describe('as http.globalAgent, a request with agent: false (item 11)', () => {
  it('gets a one-off agent of its own, as Node builds it', async () => {
    const seen: string[] = [];
    const upstream = await startHttpServer((req, res) => {
      seen.push(String(req.headers.connection));
      res.end('one-off');
    });
    cleanups.push(() => upstream.close());
    // The module object itself (an ES namespace cannot be assigned to), as code that sets it does.
    const globals = createRequire(import.meta.url)('node:http') as { globalAgent: http.Agent };
    const previous = globals.globalAgent;
    cleanups.push(() => {
      globals.globalAgent = previous;
    });
    const outcomes = await onBothSides(async (side) => {
      seen.length = 0;
      globals.globalAgent = agents.make(side);
      const sent = await send(false as never, upstream.origin);
      return { body: sent.body, connection: seen[0] };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ body: 'one-off', connection: 'close' });
  });
});

describe("a request's own DNS lookup (item 12)", () => {
  it('is the one used to connect', async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const looked: string[] = [];
      const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        looked.push(hostname);
        if (options.all) callback(null, [{ address: LOOPBACK, family: 4 }]);
        else callback(null, LOOPBACK, 4);
      }) as unknown as LookupFunction;
      const sent = await send(agents.make(side), `http://upstream.test:${upstream.port}/`, { lookup });
      return { looked, answered: sent.res.statusCode };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ looked: ['upstream.test'], answered: 200 });
  });
});

describe("connect failures are the socket's own errors (item 13)", () => {
  it("a refused connect, a checkServerIdentity's error and a TLS version no side accepts: Node's class and code", async () => {
    const certs = testCerts();
    const tls12 = await startHttpServer((_req, res) => res.end('tls 1.2'), { tls: { cert: certs.server.cert, key: certs.server.key, maxVersion: 'TLSv1.2' } });
    cleanups.push(() => tls12.close());
    const refusedPort = await unusedPort();
    const outcomes = await onBothSides(async (side) => {
      const fail = (url: string, options: https.RequestOptions, setup = {}): Promise<unknown> =>
        send(agents.make(side, setup), url, options).then(
          () => 'no error',
          (error: unknown) => describeError(error),
        );
      return {
        refused: await fail(`http://${LOOPBACK}:${refusedPort}/`, {}),
        identity: await fail(tls12.origin, { checkServerIdentity: () => new Error('CUSTOM_ERROR') }, { https: true }),
        version: await fail(tls12.origin, { minVersion: 'TLSv1.3' }, { https: true }),
      };
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toMatchObject({
      refused: { name: 'Error', code: 'ECONNREFUSED' },
      identity: { name: 'Error', message: 'CUSTOM_ERROR' },
      version: { name: 'Error', code: 'EPROTO', message: expect.stringMatching(/^write EPROTO .*protocol version/) },
    });
  });
});

describe('test doubles for timers (item 14)', () => {
  it('a global setTimeout replaced by a stand-in that returns a plain object breaks nothing', async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side);
      const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
      // As got's own test does: timers that run on the next tick and return a plain object.
      globalThis.setTimeout = ((callback: (...args: unknown[]) => void, _ms?: number, ...args: unknown[]) => {
        const timer = { cleared: false };
        process.nextTick(() => {
          if (!timer.cleared) callback(...args);
        });
        return timer;
      }) as unknown as typeof setTimeout;
      globalThis.clearTimeout = ((timer?: { cleared: boolean }) => {
        if (timer) timer.cleared = true;
      }) as typeof clearTimeout;
      try {
        const first = await send(agent, `${upstream.origin}/1`);
        const second = await send(agent, `${upstream.origin}/2`);
        return { same: first.body === second.body, reused: second.req.reusedSocket };
      } finally {
        Object.assign(globalThis, real);
      }
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ same: true, reused: true });
  });

  it('under fake timers, requests (a reused connection too) go without the clock, and runAllTimers() ends', async () => {
    const upstream = await portEcho();
    const outcomes = await onBothSides(async (side) => {
      const agent = agents.make(side);
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date'] });
      try {
        const first = await send(agent, `${upstream.origin}/1`);
        const second = await send(agent, `${upstream.origin}/2`);
        vi.runAllTimers();
        return { reused: second.req.reusedSocket, same: first.body === second.body };
      } finally {
        vi.useRealTimers();
      }
    });
    expect(outcomes.pool).toEqual(outcomes.peer);
    expect(outcomes.peer).toEqual({ reused: true, same: true });
  });
});
