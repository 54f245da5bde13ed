import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { testCerts } from '../support/certs.js';
import { FaultProxy, type FaultRecord, type RandomFaults } from '../support/fault-proxy.js';
import { LOOPBACK, startTlsServer } from '../support/local-servers.js';
import { fileDescriptorsBackTo, openFileDescriptors } from '../support/open-files.js';
import { SeededRandom } from '../support/seeded-random.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The fault proxy's own tests: each fault does what the chaos suites rely on it to do, seen
 * from a real client socket on one side and a real server on the other. Waits are on events
 * or bounded polls of real state; the latency test measures real time, with a lower bound only.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** An upstream that echoes every chunk back, and counts what it was sent. */
interface EchoServer {
  readonly port: number;
  readonly sockets: net.Socket[];
  received(): string;
}

async function echoServer(options: { silent?: boolean } = {}): Promise<EchoServer> {
  const sockets: net.Socket[] = [];
  let received = '';
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (!options.silent) socket.write(chunk);
    });
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    const closed = once(server, 'close');
    server.close();
    await closed;
  });
  return { port: (server.address() as net.AddressInfo).port, sockets, received: () => received };
}

async function proxyTo(targetPort: number, options: { seed?: number; random?: RandomFaults } = {}): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ targetPort, ...options });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<net.Socket> {
  const socket = net.connect({ host: LOOPBACK, port, ...options });
  socket.on('error', () => undefined);
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** Writes `text` and resolves with what comes back first, or rejects with how the connection failed. */
function exchange(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readableEnded || !socket.writable) {
      reject(Object.assign(new Error('the connection is over'), { code: 'END' }));
      return;
    }
    const onData = (chunk: Buffer): void => {
      done();
      resolve(chunk.toString());
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onEnd = (): void => {
      done();
      reject(Object.assign(new Error('ended'), { code: 'END' }));
    };
    const done = (): void => {
      socket.off('data', onData).off('error', onError).off('end', onEnd);
    };
    socket.on('data', onData).on('error', onError).on('end', onEnd);
    socket.write(text);
  });
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown }).code;

describe('FaultProxy', () => {
  it('forwards to 127.0.0.1 only', async () => {
    await expect(FaultProxy.start({ targetPort: 80, targetHost: '10.0.0.1' })).rejects.toThrow(/127\.0\.0\.1 only/);
    await expect(FaultProxy.start({ targetPort: 80, targetHost: 'localhost' })).rejects.toThrow(/127\.0\.0\.1 only/);
  });

  it('forwards bytes both ways, and a FIN from either side reaches the other', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port);
    const socket = await connect(proxy.port);
    expect(await exchange(socket, 'hello')).toBe('hello');
    expect(upstream.received()).toBe('hello');
    // The client's FIN reaches the server, whose FIN (Node ends on end) comes back.
    socket.end();
    await once(socket, 'end');
    await waitFor(() => proxy.openConnections === 0, 'the proxy to close the connection');
    expect(proxy.faults).toEqual([]);
  });

  it('adds latency to each direction, in order', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port, { random: { latencyMs: 40 } });
    const socket = await connect(proxy.port);
    const started = performance.now();
    expect(await exchange(socket, 'slow')).toBe('slow');
    // 40 ms up and 40 ms down (timers may fire a little early: allow 2 ms each way).
    expect(performance.now() - started).toBeGreaterThanOrEqual(76);
    // Many chunks with jitter still arrive whole and in order.
    proxy.setRandomFaults({ latencyMs: 1, jitterMs: 10 });
    let echoed = '';
    socket.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
    const sent = Array.from({ length: 50 }, (_, i) => `<${i}>`).join('');
    for (let i = 0; i < 50; i++) socket.write(`<${i}>`);
    await waitFor(() => echoed.length === sent.length, 'every chunk to come back');
    expect(echoed).toBe(sent);
  });

  it('resets a connection on command: the client gets ECONNRESET, and the fault names its port', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port);
    const socket = await connect(proxy.port);
    const clientPort = socket.localPort;
    await exchange(socket, 'a');
    const failed = once(socket, 'error');
    expect(proxy.reset()).toBe(1);
    const [error] = (await failed) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
    expect(proxy.faults).toMatchObject([{ kind: 'reset', cause: 'command', clientPort, serial: 0 }]);
    expect(proxy.connectionByClientPort(clientPort as number)?.faults).toEqual(['reset']);
    await waitFor(() => upstream.sockets[0]?.closed === true, 'the upstream side to be closed too');
  });

  it('half-closes on command: the client reads its end, and what it writes still reaches the upstream', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port);
    const socket = await connect(proxy.port, { allowHalfOpen: true });
    await exchange(socket, 'one');
    const ended = once(socket, 'end');
    proxy.halfClose(0);
    await ended;
    expect(socket.writable).toBe(true);
    socket.write('two');
    await waitFor(() => upstream.received() === 'onetwo', 'the write after the half-close to reach the upstream');
    expect(proxy.connections()[0]?.state).toBe('half-closed');
    expect(proxy.faultCounts()).toEqual({ 'half-close': 1 });
  });

  it('blackholes: nothing is forwarded or answered on open or new connections, nothing is closed; restore() lets new ones through', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port);
    const open = await connect(proxy.port);
    await exchange(open, 'before');
    proxy.blackhole();
    open.write('lost');
    const fresh = await connect(proxy.port);
    fresh.write('also lost');
    let answered = false;
    open.on('data', () => (answered = true));
    fresh.on('data', () => (answered = true));
    await waitFor(
      () => proxy.connections().reduce((sum, c) => sum + c.droppedBytes, 0) === 'lost'.length + 'also lost'.length,
      'the proxy to read and drop both writes',
    );
    expect(upstream.received()).toBe('before');
    // The new connection never reached the upstream: the server accepted one connection only.
    expect(upstream.sockets).toHaveLength(1);
    expect(answered).toBe(false);
    expect(open.destroyed || fresh.destroyed).toBe(false);
    expect(proxy.connections().map((c) => c.state)).toEqual(['blackholed', 'blackholed']);
    proxy.restore();
    const after = await connect(proxy.port);
    expect(await exchange(after, 'back')).toBe('back');
    expect(proxy.connections()[0]?.state).toBe('blackholed');
  });

  it('holds new TLS handshakes: the ClientHello is kept, the server never sees the client, the client never connects', async () => {
    const certs = testCerts();
    const server = await startTlsServer({ cert: certs.server.cert, key: certs.server.key });
    cleanups.push(() => server.close());
    const proxy = await proxyTo(server.port);
    proxy.holdHandshakes();
    const socket = tls.connect({ host: LOOPBACK, port: proxy.port, ca: certs.ca.cert });
    socket.on('error', () => undefined);
    let secured = false;
    socket.on('secureConnect', () => (secured = true));
    await waitFor(() => (proxy.connections()[0]?.heldBytes ?? 0) > 0, 'the ClientHello to be held');
    expect(proxy.connections()[0]?.state).toBe('held');
    expect(server.accepted).toHaveLength(0);
    expect(secured).toBe(false);
    // The client gives up; the proxy lets the held connection go.
    socket.destroy();
    await waitFor(() => proxy.openConnections === 0, 'the held connection to close');
    proxy.restore();
    const ok = tls.connect({ host: LOOPBACK, port: proxy.port, ca: certs.ca.cert, servername: 'localhost' });
    ok.on('error', () => undefined);
    cleanups.push(() => void ok.destroy());
    await once(ok, 'secureConnect');
    expect(proxy.faultCounts()).toEqual({ held: 1 });
  });

  it('closes idle connections after their idle timeout, but not one waiting for its response', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port, { random: { idleCloseMs: 30 } });
    // Half-open, as an HTTP client's idle socket is until it notices: it can still write.
    const socket = await connect(proxy.port, { allowHalfOpen: true });
    const started = performance.now();
    await exchange(socket, 'x');
    await once(socket, 'end');
    expect(performance.now() - started).toBeGreaterThanOrEqual(28);
    expect(proxy.faults.map((f) => f.kind)).toEqual(['idle-close']);
    // A request written to a connection the "server" has closed is dropped and answered
    // with a reset (which a socket that stopped reading at the FIN notices on its next write).
    const clientPort = socket.localPort as number;
    socket.write('too late');
    await waitFor(() => proxy.connectionByClientPort(clientPort)?.state === 'closed', 'the proxy to reset the connection');
    expect(proxy.connectionByClientPort(clientPort)?.droppedBytes).toBe('too late'.length);
    const failed = once(socket, 'error');
    socket.write('and again');
    expect(['ECONNRESET', 'EPIPE']).toContain(((await failed) as [NodeJS.ErrnoException])[0].code);

    const silent = await echoServer({ silent: true });
    const quiet = await proxyTo(silent.port, { random: { idleCloseMs: 20 } });
    const waiting = await connect(quiet.port);
    waiting.write('no answer yet');
    // Bounded: five idle timeouts pass and the connection stays open, as it waits for a response.
    await waitFor(() => silent.received() === 'no answer yet', 'the request to reach the server');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(quiet.faults).toEqual([]);
    expect(waiting.readableEnded).toBe(false);
  });

  it('refuses new connections for a while (ECONNREFUSED), on the same port, leaving open ones alone', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port);
    const port = proxy.port;
    const open = await connect(port);
    await proxy.refuse();
    expect(proxy.refusing).toBe(true);
    const refused = net.connect({ host: LOOPBACK, port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    expect(await exchange(open, 'still here')).toBe('still here');
    await proxy.accept();
    expect(proxy.port).toBe(port);
    expect(await exchange(await connect(port), 'again')).toBe('again');

    const started = performance.now();
    await proxy.refuseFor(50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(48);
    expect(await exchange(await connect(port), 'after')).toBe('after');
  });

  it('leaves no file descriptor behind, even when a reset follows a half-close at once (Node cannot reset a socket mid-shutdown)', async () => {
    const upstream = await echoServer();
    const baseline = openFileDescriptors();
    const proxy = await FaultProxy.start({ targetPort: upstream.port });
    const sockets = await Promise.all([connect(proxy.port), connect(proxy.port), connect(proxy.port)]);
    for (const socket of sockets) await exchange(socket, 'x');
    proxy.halfClose();
    // The FIN is still on its way: a plain resetAndDestroy() here fails with EINVAL and never closes the handle.
    expect(proxy.reset()).toBe(3);
    await waitFor(() => sockets.every((s) => s.destroyed || s.readableEnded), 'the clients to see the connections end');
    for (const socket of sockets) socket.destroy();
    await proxy.close();
    await waitFor(() => upstream.sockets.every((s) => s.closed), 'the upstream sockets to close');
    expect(await fileDescriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('resets new connections at random on accept, when asked to', async () => {
    const upstream = await echoServer();
    const proxy = await proxyTo(upstream.port, { random: { resetOnAccept: 1 } });
    const socket = net.connect({ host: LOOPBACK, port: proxy.port });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNRESET');
    expect(proxy.faults.map((f) => f.kind)).toEqual(['reset-on-accept']);
    expect(upstream.sockets).toHaveLength(0);
  });

  it('injects the same random faults for the same seed and the same traffic, and others for another seed', async () => {
    const upstream = await echoServer();
    const random: RandomFaults = { staleReset: 0.3, resetMidResponse: 0.2, halfCloseAfterResponse: 0.1 };
    /** 60 exchanges, one at a time; a connection that fails is replaced. Returns the faults, without times or ports. */
    async function run(seed: number): Promise<Array<Pick<FaultRecord, 'serial' | 'kind'>>> {
      const proxy = await proxyTo(upstream.port, { seed, random });
      let socket = await connect(proxy.port);
      for (let i = 0; i < 60; i++) {
        try {
          await exchange(socket, `m${i}`);
        } catch (error) {
          expect(['ECONNRESET', 'END']).toContain(codeOf(error));
          socket.destroy();
          socket = await connect(proxy.port);
        }
      }
      socket.destroy();
      await proxy.close();
      return proxy.faults.map(({ serial, kind }) => ({ serial, kind }));
    }
    const first = await run(7);
    const again = await run(7);
    const other = await run(8);
    expect(first.length).toBeGreaterThan(5);
    expect(new Set(first.map((f) => f.kind))).toEqual(new Set(['stale-reset', 'reset-mid-response', 'half-close']));
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });
});

describe('SeededRandom', () => {
  it('repeats its sequence for a seed, per stream, and differs between seeds and streams', () => {
    const draw = (random: SeededRandom): number[] => Array.from({ length: 5 }, () => random.next());
    expect(draw(new SeededRandom(3))).toEqual(draw(new SeededRandom(3)));
    expect(draw(new SeededRandom(3))).not.toEqual(draw(new SeededRandom(4)));
    expect(draw(SeededRandom.forStream(3, 1))).toEqual(draw(SeededRandom.forStream(3, 1)));
    expect(draw(SeededRandom.forStream(3, 1))).not.toEqual(draw(SeededRandom.forStream(3, 2)));
    const random = new SeededRandom(9);
    const values = Array.from({ length: 1000 }, () => random.int(2, 4));
    expect(new Set(values)).toEqual(new Set([2, 3, 4]));
    expect(random.chance(0)).toBe(false);
  });
});
