import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Worker } from 'node:worker_threads';

/** Every test server listens here, and only here. */
export const LOOPBACK = '127.0.0.1';

/** A server on loopback, with the sockets it accepted. */
export interface LocalServer<S extends net.Server = net.Server> {
  readonly server: S;
  readonly port: number;
  /** Server-side sockets, in the order they were accepted (TLS: once their handshake is done). */
  readonly accepted: net.Socket[];
  /** Resolves with the next socket accepted (or the one accepted already, if `index` names it). */
  acceptedAt(index: number): Promise<net.Socket>;
  /** Open connections, as the server counts them. */
  connectionCount(): Promise<number>;
  /** Destroys every accepted socket and stops listening. */
  close(): Promise<void>;
}

async function listen<S extends net.Server>(server: S, acceptEvent: string): Promise<LocalServer<S>> {
  const accepted: net.Socket[] = [];
  const waiting = new Map<number, (socket: net.Socket) => void>();
  server.on(acceptEvent, (socket: net.Socket) => {
    // A test may destroy its end abruptly; the server side must not crash the run.
    socket.on('error', () => undefined);
    accepted.push(socket);
    waiting.get(accepted.length - 1)?.(socket);
    waiting.delete(accepted.length - 1);
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    accepted,
    acceptedAt(index) {
      const socket = accepted[index];
      if (socket !== undefined) return Promise.resolve(socket);
      return new Promise((resolve) => waiting.set(index, resolve));
    },
    connectionCount() {
      return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    },
    async close() {
      const socketsClosed = accepted.filter((socket) => !socket.closed).map((socket) => once(socket, 'close'));
      for (const socket of accepted) socket.destroy();
      await Promise.all(socketsClosed);
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

/** A TCP server that accepts and keeps every connection open (tests drive the sockets). */
export function startTcpServer(): Promise<LocalServer<net.Server>> {
  return listen(net.createServer(), 'connection');
}

/** A TLS server; failed handshakes are dropped quietly (the client's error is what tests check). */
export function startTlsServer(options: tls.TlsOptions): Promise<LocalServer<tls.Server>> {
  const server = tls.createServer(options);
  server.on('tlsClientError', () => undefined);
  return listen(server, 'secureConnection');
}

/** A loopback port on which nothing listens (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** A listener whose kernel accept queue is full: connects to it never complete. */
export interface NonAcceptingListener {
  readonly port: number;
  close(): Promise<void>;
}

// The listener runs in a worker whose thread then blocks, so its event loop never accepts:
// the kernel queues `backlog + 1` handshakes (Linux and gVisor alike) and then drops SYNs,
// so any later connect hangs in SYN_SENT, like a host that does not answer, on loopback.
const NON_ACCEPTING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
server.listen({ host: ${JSON.stringify(LOOPBACK)}, port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(new Int32Array(workerData), 0, 0);
});
`;
const QUEUED_BY_KERNEL = 2;

/**
 * Starts a listener that never accepts and fills its accept queue, so that the next
 * connect to `port` hangs until it is given up.
 */
export async function startNonAcceptingListener(): Promise<NonAcceptingListener> {
  const gate = new SharedArrayBuffer(4);
  const worker = new Worker(NON_ACCEPTING_WORKER, { eval: true, workerData: gate });
  const [port] = (await once(worker, 'message')) as [number];
  const fillers: net.Socket[] = [];
  for (let i = 0; i < QUEUED_BY_KERNEL; i++) {
    const filler = net.connect({ host: LOOPBACK, port });
    filler.on('error', () => undefined);
    fillers.push(filler);
    await once(filler, 'connect');
  }
  return {
    port,
    async close() {
      for (const filler of fillers) filler.destroy();
      const lock = new Int32Array(gate);
      Atomics.store(lock, 0, 1);
      Atomics.notify(lock, 0);
      await worker.terminate();
    },
  };
}

/** What the test proxy saw of one CONNECT. */
export interface ProxiedConnect {
  readonly authority: string;
  readonly proxyAuthorization: string | undefined;
}

/** An HTTP proxy that tunnels CONNECT to loopback only, optionally behind Basic credentials. */
export interface ConnectProxy extends LocalServer<http.Server | https.Server> {
  readonly connects: ProxiedConnect[];
}

/**
 * Starts an HTTP CONNECT proxy (an HTTPS one with `tls`). With `credentials`
 * (`user:password`), a CONNECT without the matching `Proxy-Authorization: Basic` gets 407.
 * It tunnels to 127.0.0.1 whatever host is asked for, so that tests never leave loopback.
 */
export async function startConnectProxy(options: { credentials?: string; tls?: https.ServerOptions } = {}): Promise<ConnectProxy> {
  const { credentials } = options;
  const refuse = (_request: http.IncomingMessage, response: http.ServerResponse): void => void response.writeHead(405).end();
  const server = options.tls ? https.createServer(options.tls, refuse) : http.createServer(refuse);
  const connects: ProxiedConnect[] = [];
  const tunnels: net.Socket[] = [];
  server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => undefined);
    const authority = request.url ?? '';
    const proxyAuthorization = request.headers['proxy-authorization'];
    connects.push({ authority, proxyAuthorization });
    if (credentials !== undefined && proxyAuthorization !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const port = Number(authority.slice(authority.lastIndexOf(':') + 1));
    const upstream = net.connect({ host: LOOPBACK, port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    tunnels.push(upstream, client);
  });
  const local = await listen<http.Server | https.Server>(server, options.tls ? 'secureConnection' : 'connection');
  return {
    ...local,
    connects,
    async close() {
      for (const socket of tunnels) socket.destroy();
      await local.close();
    },
  };
}
