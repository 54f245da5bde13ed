import type * as http from 'node:http';
import type * as net from 'node:net';
import type { EventOrder } from './event-order.js';

/** A connection a client wrote requests on, named as the backends name it (BackendFleet's `ConnectionClose`). */
export interface UsedConnection {
  /** The backend's address, then the client's address and port: `127.0.0.2 127.0.0.1:40000`. */
  readonly name: string;
  /** When the client first handed it to a request (a number of the fleet's order of events). */
  readonly since: number;
  /** When the client's event loop read the backend's FIN on it (the socket's 'end'); undefined until it does. */
  endReadAt: number | undefined;
}

/**
 * Whether the runtime lets a client ask the kernel if a FIN (or RST, or bytes) waits unread
 * on a socket: the stream handle's `hasPendingRead()`, which Node 24's http.Agent and the
 * PooledAgent call before reusing a connection. Node 20's handles do not have it.
 */
export function kernelCanBeAsked(socket: net.Socket): boolean {
  const handle = (socket as net.Socket & { _handle?: { hasPendingRead?: unknown } | null })._handle;
  return typeof handle?.hasPendingRead === 'function';
}

/**
 * A request that failed, with what it takes to tell whose fault that was: when it was made
 * and the connection its agent gave it. The error it failed with is the `cause`; its `code`
 * (ECONNRESET, EPIPE) is kept.
 */
export class LostRequestError extends Error {
  readonly code: string | undefined;

  constructor(
    cause: Error,
    /** When the request was made, before its agent chose a connection for it. */
    readonly madeAt: number,
    /** The connection it was written on; undefined if it never got one. */
    readonly connection: UsedConnection | undefined,
  ) {
    super(`${cause.message} (a request made at ${madeAt}, on ${connection?.name ?? 'no connection'})`, { cause });
    this.name = 'LostRequestError';
    this.code = (cause as { code?: string }).code;
  }
}

/**
 * Places one client's requests in the backends' order of events (BackendFleet.order): when
 * each was made, and which connections its agent gave them, so that a lost request can be
 * matched with the backend's close of its connection.
 */
export class RequestTracer {
  readonly #order: EventOrder;
  readonly #connections = new Map<net.Socket, UsedConnection>();
  #kernelCanBeAsked: boolean | undefined;

  constructor(order: EventOrder) {
    this.#order = order;
  }

  /** Every connection the client's requests were given. */
  get connections(): UsedConnection[] {
    return [...this.#connections.values()];
  }

  /** Whether the client's sockets can be asked for an unread FIN ({@link kernelCanBeAsked}); undefined before the first. */
  get kernelCanBeAsked(): boolean | undefined {
    return this.#kernelCanBeAsked;
  }

  /**
   * Call right before making the request (an agent chooses its connection in http.get or
   * later, never before). Returns what turns the request's error into a {@link LostRequestError}.
   */
  made(req: () => http.ClientRequest): { req: http.ClientRequest; lost: (error: Error) => LostRequestError } {
    const madeAt = this.#order.next();
    let connection: UsedConnection | undefined;
    const made = req();
    made.once('socket', (socket: net.Socket) => {
      const name = () => {
        // Named while the socket is open (net keeps the addresses for after it is closed).
        let known = this.#connections.get(socket);
        if (known === undefined) {
          const used: UsedConnection = { name: `${socket.remoteAddress} ${socket.localAddress}:${socket.localPort}`, since: this.#order.next(), endReadAt: undefined };
          known = used;
          this.#connections.set(socket, used);
          this.#kernelCanBeAsked ??= kernelCanBeAsked(socket);
          socket.once('end', () => (used.endReadAt = this.#order.next()));
        }
        connection = known;
      };
      if (socket.connecting) socket.once('connect', name);
      else name();
    });
    return { req: made, lost: (error) => new LostRequestError(error, madeAt, connection) };
  }
}
