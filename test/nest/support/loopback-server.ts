import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP echo server on 127.0.0.1 that a test can stop (every connection cut, so connects
 * fail with ECONNREFUSED) and start again on the same port.
 */
export class LoopbackServer {
  #server: Server | null = null;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  /** Connections accepted since the server was made. */
  accepted = 0;

  /** Listens (again) on the port it had, or a free one the first time. */
  async start(): Promise<this> {
    const server = createServer((socket) => {
      this.accepted++;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
    server.listen(this.#port, '127.0.0.1');
    await once(server, 'listening');
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Stops listening and cuts every connection; resolves once the server is closed. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  get port(): number {
    return this.#port;
  }

  /** `tcp://127.0.0.1:<port>`, as given to `pool.acquire()`. */
  get url(): string {
    return `tcp://127.0.0.1:${this.#port}`;
  }

  /** Connections open on the server side now. */
  get openConnections(): number {
    return this.#sockets.size;
  }
}
