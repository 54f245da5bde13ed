import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { proxyErrorPayload } from '../proxy/proxy-error.response.js';

/**
 * The cap on client connections (`CLIENT_MAX_CONNECTIONS`), kept so that a flood of slow or
 * idle connections (slowloris) can neither exhaust the process's file descriptors nor lock
 * out the probes and real clients.
 *
 * Every accepted connection is counted until it closes. At the cap, a new connection takes
 * the place of the oldest one that is serving no request: one still sending its first
 * request head (a slowloris connection is one forever), or a keep-alive connection idle
 * between two requests (RFC 9112 §9.6 lets a server close those at any time). Only when every
 * connection has a request in flight is the new one refused: a 503 JSON answer with
 * `Retry-After`, written at once, and the connection closed. A probe, which sends its whole
 * request at once, thus always gets a connection unless the service is truly busy.
 *
 * How long a connection may take to send its head is the HTTP server's `headersTimeout`
 * (`CLIENT_HEADERS_TIMEOUT`): past it, Node answers 408 and closes it.
 */
export class ClientConnections {
  readonly #max: number;
  /** Connections serving no request, the longest-waiting first (a Set keeps insertion order). */
  readonly #waiting = new Set<Socket>();
  /** Requests in flight per connection serving some (pipelined requests count each). */
  readonly #serving = new Map<Socket, number>();
  /** Connections refused at the cap: whatever they send is not served. */
  readonly #refused = new WeakSet<Socket>();
  /** Every connection counted against the cap (one closed to make room stops counting at once). */
  readonly #counted = new Set<Socket>();
  #shed = 0;
  #refusedCount = 0;

  constructor(maxConnections: number) {
    this.#max = maxConnections;
  }

  /** Counts `server`'s connections from now on. */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
  }

  /** Connections open now. */
  get open(): number {
    return this.#counted.size;
  }

  /** Connections closed to make room for newer ones, and connections refused, since the start. */
  get stats(): { readonly open: number; readonly shed: number; readonly refused: number } {
    return { open: this.#counted.size, shed: this.#shed, refused: this.#refusedCount };
  }

  /** Whether `socket` was refused at the cap (its requests are not to be served). */
  isRefused(socket: Socket): boolean {
    return this.#refused.has(socket);
  }

  /** A request began on `socket`: it is not to be closed to make room until the request is done. */
  requestStarted(socket: Socket): void {
    if (!this.#counted.has(socket)) return;
    this.#waiting.delete(socket);
    this.#serving.set(socket, (this.#serving.get(socket) ?? 0) + 1);
  }

  /** A request on `socket` ended (its response finished or was cut). */
  requestEnded(socket: Socket): void {
    const inFlight = this.#serving.get(socket);
    if (inFlight === undefined) return;
    if (inFlight > 1) {
      this.#serving.set(socket, inFlight - 1);
      return;
    }
    this.#serving.delete(socket);
    // Idle now: it goes to the back of the line of connections that may make room.
    if (this.#counted.has(socket) && !socket.destroyed) this.#waiting.add(socket);
  }

  #onConnection(socket: Socket): void {
    if (this.#counted.size >= this.#max) {
      const oldest = this.#waiting.values().next();
      if (oldest.done === true) {
        this.#refuse(socket);
        return;
      }
      this.#forget(oldest.value);
      this.#shed++;
      oldest.value.destroy();
    }
    this.#counted.add(socket);
    this.#waiting.add(socket);
    socket.once('close', () => this.#forget(socket));
  }

  #forget(socket: Socket): void {
    this.#counted.delete(socket);
    this.#waiting.delete(socket);
    this.#serving.delete(socket);
  }

  #refuse(socket: Socket): void {
    this.#refused.add(socket);
    this.#refusedCount++;
    const { text, headers } = proxyErrorPayload(
      503,
      'TOO_MANY_CONNECTIONS',
      'The service has as many client connections as it takes (CLIENT_MAX_CONNECTIONS), each with a request in flight. Try again shortly.',
    );
    const head = Object.entries({ ...headers, Connection: 'close' })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.on('error', () => undefined);
    socket.write(`HTTP/1.1 503 Service Unavailable\r\n${head}\r\n${text}`);
    // Closed once the answer is out; nothing it sends is read meanwhile.
    socket.pause();
    socket.destroySoon();
  }
}
