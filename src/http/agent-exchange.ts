import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Lease } from '../pool/index.js';
import type { SocketTransport } from '../transport/index.js';

/** What an exchange tells its agent, and asks of it. */
export interface ExchangeOwner {
  readonly describesLeases: boolean;
  /** How long the connection may stay idle after this response (the server's Keep-Alive hint less the margin), or undefined. */
  idleTimeoutFor(res: IncomingMessage | null | undefined): number | undefined;
  /** The exchange is over: the response was read to the end (`free`), or the socket was lost. */
  exchangeEnded(exchange: AgentExchange, free: boolean): void;
}

/**
 * One request's use of a leased connection: watches the socket until the response is read
 * to the end (Node emits `'free'`) or the socket is lost, then tells the agent, which gives
 * the lease back.
 */
export class AgentExchange {
  /** The socket's `bytesWritten` before this request wrote anything. */
  readonly #bytesBefore: number;
  #done = false;

  constructor(
    readonly owner: ExchangeOwner,
    readonly protocol: string,
    readonly req: ClientRequest,
    readonly lease: Lease,
    readonly transport: SocketTransport,
    readonly socket: Socket,
    /** The agent's name for the request's origin (`agent.getName()`). */
    readonly name: string,
  ) {
    this.#bytesBefore = bytesWrittenTo(socket);
  }

  start(): void {
    const { socket, req } = this;
    socket.on('free', this.#onFree);
    socket.on('close', this.#onClose);
    socket.on('timeout', this.#onTimeout);
    socket.on('agentRemove', this.#onAgentRemove);
    req.prependOnceListener('response', this.#onResponse);
  }

  #stop(): void {
    const { socket, req } = this;
    socket.removeListener('free', this.#onFree);
    socket.removeListener('close', this.#onClose);
    socket.removeListener('timeout', this.#onTimeout);
    socket.removeListener('agentRemove', this.#onAgentRemove);
    req.removeListener('response', this.#onResponse);
  }

  /**
   * Whether a request body went out without framing, so that the server may read its bytes as
   * the start of another request. Node (`_http_outgoing`'s `_storeHeader`) writes no
   * `Content-Length` or `Transfer-Encoding` of its own when the caller set neither and
   * `useChunkedEncodingByDefault` is false, which `ClientRequest` makes it for GET, HEAD,
   * DELETE, OPTIONS, TRACE and CONNECT; nor when the caller removed both; and with a
   * `Transfer-Encoding` the caller set that does not end in `chunked`. Whatever body the
   * caller then writes goes as it is; and a body longer or shorter than a `Content-Length`
   * the caller set goes as it is too (Node checks only with `strictContentLength`). Measured
   * on the socket: the bytes written for this request beyond its head, against the
   * `Content-Length` of the head Node sent (none: 0).
   */
  bodyWentOutUnframed(): boolean {
    const req = this.req as ClientRequest & { chunkedEncoding?: boolean; _header?: string | null };
    if (req.chunkedEncoding === true) return false;
    const head = req._header;
    if (typeof head !== 'string') return false;
    // Node writes the head as latin1: one byte per character.
    const bodyBytes = bytesWrittenTo(this.socket) - this.#bytesBefore - head.length;
    if (bodyBytes <= 0) return false;
    return bodyBytes !== declaredContentLength(head);
  }

  /** Headers arrived: no keep-alive means this connection ends with this exchange. */
  readonly #onResponse = (res: IncomingMessage): void => {
    // Node discards a response nobody listens for; this listener of ours must not stop that,
    // or the body would never be read and the connection never released. It runs first
    // (prepended, and already removed as a once-listener), so what is left are the caller's.
    if (this.req.listenerCount('response') === 0) res.resume();
    if (!this.req.shouldKeepAlive || res.headers.connection?.toLowerCase() === 'close') this.lease.noNewExchanges();
    if (this.owner.describesLeases) {
      this.lease.describe(
        `${this.req.method} ${this.protocol}//${this.req.host}${this.req.path}: response ${res.statusCode} received, ` +
          'its body not read to the end (read it, or call res.resume() to discard it)',
      );
    }
  };

  /** Node read the response to the end with keep-alive: the connection may serve again. */
  readonly #onFree = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#stop();
    this.owner.exchangeEnded(this, true);
  };

  /** The socket closed under the exchange (aborted, errored, or the server closed it). */
  readonly #onClose = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#stop();
    this.owner.exchangeEnded(this, false);
  };

  /** A socket timeout mid-exchange leaves the connection in an unknown state. */
  readonly #onTimeout = (): void => {
    this.lease.noNewExchanges();
  };

  /** The request took the socket for itself (an upgrade, CONNECT): it is no longer ours to reuse. */
  readonly #onAgentRemove = (): void => {
    this.lease.noNewExchanges();
  };
}

/**
 * The bytes written to `socket` so far, as its `bytesWritten` counts them: what its handle
 * took, read directly when nothing waits in the socket's buffer (the common case, and the
 * cheap one: `bytesWritten` copies that buffer to count it).
 */
function bytesWrittenTo(socket: Socket): number {
  const buffered = socket as Socket & { _bytesDispatched?: number; _pendingData?: unknown };
  if (socket.writableLength === 0 && (buffered._pendingData === null || buffered._pendingData === undefined) && typeof buffered._bytesDispatched === 'number') {
    return buffered._bytesDispatched;
  }
  return socket.bytesWritten;
}

/** The `Content-Length` of a request head Node wrote, or 0 when it has none. */
function declaredContentLength(head: string): number {
  const match = /\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n/i.exec(head);
  return match === null ? 0 : Number(match[1]);
}
