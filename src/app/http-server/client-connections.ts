import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { LinkedList, ListNode } from '../../pool/linked-list.js';
import { proxyErrorPayload } from '../proxy/proxy-error.response.js';

/** What is kept of a counted connection: its requests in flight, and its place in the line of those serving none. */
interface ConnectionSlot {
  inFlight: number;
  /** In the line while `inFlight` is 0. */
  readonly node: ListNode<Socket>;
}

/** Where a counted connection keeps its slot (null once it stops counting). */
const SLOT = Symbol('clientConnectionSlot');

type CountedSocket = Socket & { [SLOT]?: ConnectionSlot | null };

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
  /**
   * Connections serving no request, the longest-waiting first: an intrusive list of their
   * slots, not a Set, since every request takes its connection out and puts it back, and a
   * Set or Map would allocate a new table every few of those (bench/RESULTS.md, issue 15).
   */
  readonly #waiting = new LinkedList<Socket>();
  /** Connections refused at the cap: whatever they send is not served. */
  readonly #refused = new WeakSet<Socket>();
  /** Connections counted against the cap (one closed to make room stops counting at once). */
  #open = 0;
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
    return this.#open;
  }

  /** Connections closed to make room for newer ones, and connections refused, since the start. */
  get stats(): { readonly open: number; readonly shed: number; readonly refused: number } {
    return { open: this.#open, shed: this.#shed, refused: this.#refusedCount };
  }

  /** Whether `socket` was refused at the cap (its requests are not to be served). */
  isRefused(socket: Socket): boolean {
    return this.#refused.has(socket);
  }

  /** A request began on `socket`: it is not to be closed to make room until the request is done. */
  requestStarted(socket: Socket): void {
    const slot = (socket as CountedSocket)[SLOT];
    if (slot === undefined || slot === null) return;
    if (slot.inFlight++ === 0) this.#waiting.remove(slot.node);
  }

  /** A request on `socket` ended (its response finished or was cut). */
  requestEnded(socket: Socket): void {
    const slot = (socket as CountedSocket)[SLOT];
    if (slot === undefined || slot === null || slot.inFlight === 0) return;
    // Idle now: it goes to the back of the line of connections that may make room.
    if (--slot.inFlight === 0 && !socket.destroyed) this.#waiting.push(slot.node);
  }

  #onConnection(socket: Socket): void {
    if (this.#open >= this.#max) {
      const oldest = this.#waiting.head;
      if (oldest === null) {
        this.#refuse(socket);
        return;
      }
      this.#forget(oldest.value);
      this.#shed++;
      oldest.value.destroy();
    }
    const slot: ConnectionSlot = { inFlight: 0, node: new ListNode(socket) };
    (socket as CountedSocket)[SLOT] = slot;
    this.#open++;
    this.#waiting.push(slot.node);
    socket.once('close', () => this.#forget(socket));
  }

  #forget(socket: Socket): void {
    const counted = socket as CountedSocket;
    const slot = counted[SLOT];
    if (slot === undefined || slot === null) return;
    counted[SLOT] = null;
    this.#waiting.remove(slot.node);
    this.#open--;
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
