import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import type { Address, Transport } from '../pool/index.js';
import { resetReadingMode } from './socket-state.js';

/** Why a {@link SocketTransport} is no longer fit for reuse. */
export type SocketUnfitReason =
  /** The socket was destroyed, or its writing side ended (by us, by the lease holder, by Node after an error). */
  | 'destroyed'
  /** The peer half-closed the connection (`'end'`): it will answer nothing more. */
  | 'peer-ended'
  /** The socket errored (`error` says how). */
  | 'error'
  /** Bytes arrived while nobody was using the connection: a response to nobody. */
  | 'unexpected-data';

// The socket's listeners are shared by every transport (they find theirs through this
// symbol) rather than closures made per connection: an idle pool may hold thousands.
const kTransport = Symbol('SocketTransport');

interface OwnedSocket extends Socket {
  [kTransport]?: SocketTransport;
}

/**
 * A TCP or TLS socket as a pooled connection (HTTP/1.1: one lease at a time).
 *
 * It has two modes. **Idle** (the mode it is made in, and the one it must be in whenever no
 * lease uses it): the socket is unref'd, so an idle pool never keeps the process alive, and
 * a `'data'` listener of its own marks it unfit if any byte arrives, because a response to
 * nobody must never be read by the next request. **Attached**: the lease holder owns the
 * socket's reading and writing; the transport only watches for errors and the peer's end.
 *
 * Whoever uses a lease (the http layer, or a caller of `pool.acquire('tcp://...')`) must call
 * {@link SocketTransport.attach} before touching the socket and {@link SocketTransport.detach}
 * after removing its own listeners and before releasing the lease:
 *
 * @example
 * ```ts
 * const lease = await pool.acquire('tcp://127.0.0.1:7000');
 * const transport = lease.transport as SocketTransport;
 * const socket = transport.attach();
 * try {
 *   socket.write('PING\r\n');
 *   // ... read the whole answer, then remove your listeners
 *   if (!transport.detach()) lease.noNewExchanges(); // not fit for another exchange
 * } catch (error) {
 *   transport.detach();
 *   lease.noNewExchanges();
 *   throw error;
 * } finally {
 *   lease.release();
 * }
 * ```
 *
 * The socket never leaves an `'error'` unhandled: an error while idle makes the transport
 * unfit, Node destroys the socket, and its `'close'` tells the pool to evict it
 * (`peer-closed`).
 */
export class SocketTransport implements Transport {
  /** The socket: a `TLSSocket` for `https:`/`tls:` addresses, else a `net.Socket`. */
  readonly socket: Socket;
  /** Where it is connected to (the pool's address: its `toString()` is redacted). */
  readonly address: Address;
  /** The protocol the server chose by ALPN (`'h2'`, `'http/1.1'`), or null when none was negotiated. */
  readonly alpnProtocol: string | null;
  /**
   * The IP address the connection reached (of the proxy, for a tunnel), as it was when the
   * transport was made; undefined for a Unix socket. The pool shows it in `connections()`.
   */
  readonly remoteAddress: string | undefined;
  /**
   * The longest the connection may stay idle (ms) when the peer allows less than the pool's
   * `keepAlive`: the protocol layer sets it before giving the connection back, e.g. from a
   * server's `Keep-Alive: timeout=N` hint less a safety margin. Read by the pool each time
   * the connection becomes idle; 0 or less closes it instead of pooling it. Undefined (the
   * default): the pool's `keepAlive` applies.
   */
  idleTimeout: number | undefined = undefined;
  /** The proxy connection a TLS tunnel runs over, closed with it. */
  readonly #tunnel: Socket | null;
  #attached = false;
  #unfit: SocketUnfitReason | null = null;
  #error: Error | null = null;

  /**
   * Takes over a connected socket, in idle mode. Connectors make these; there is no need to
   * make one by hand except for a custom connector.
   *
   * @param tunnel - the proxy socket under a TLS `socket`, if any (closed with it).
   */
  constructor(socket: Socket, address: Address, tunnel?: Socket) {
    this.socket = socket;
    this.address = address;
    this.alpnProtocol = socket instanceof TLSSocket && typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null;
    this.#tunnel = tunnel ?? null;
    this.remoteAddress = (tunnel ?? socket).remoteAddress;
    const owned = socket as OwnedSocket;
    owned[kTransport] = this;
    owned.on('error', SocketTransport.#onError);
    owned.on('end', SocketTransport.#onEnd);
    if (tunnel !== undefined) {
      (tunnel as OwnedSocket)[kTransport] = this;
      tunnel.on('error', SocketTransport.#onError);
    }
    this.#watchIdle();
  }

  /** True while a lease holder has the socket (between `attach()` and `detach()`). */
  get attached(): boolean {
    return this.#attached;
  }

  /** The socket's last error, if it had one. */
  get error(): Error | null {
    return this.#error;
  }

  /** Why the connection is not fit for reuse, or null while it is. */
  get unfitReason(): SocketUnfitReason | null {
    if (this.#unfit !== null) return this.#unfit;
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return 'destroyed';
    if (socket.readableEnded) return 'peer-ended';
    if (!this.#attached && socket.readableLength > 0) {
      // Bytes buffered but not read while idle: what the next request would read first.
      this.#unfit = 'unexpected-data';
      return this.#unfit;
    }
    return null;
  }

  /**
   * Hands the socket to the lease holder: stops watching for stray bytes, refs the socket
   * (a request in flight keeps the process alive), and leaves its stream with no reading
   * mode chosen, so that the holder's first `'data'` or `'readable'` listener starts the
   * flow and nothing is read before it listens. Idempotent.
   *
   * @returns the socket.
   */
  attach(): Socket {
    if (this.#attached) return this.socket;
    this.#attached = true;
    const socket = this.socket;
    socket.removeListener('data', SocketTransport.#onIdleData);
    resetReadingMode(socket);
    socket.ref();
    return socket;
  }

  /**
   * Takes the socket back from the lease holder, who must have removed its own listeners
   * and must release the lease after this call. Bytes the holder left unread make the
   * connection unfit (they belong to no request). Clears any socket timeout the holder set:
   * the pool's keepAlive governs idle connections. Idempotent.
   *
   * @returns whether the connection is fit for another exchange; when false, call
   * `lease.noNewExchanges()` (the pool would otherwise evict it, `unhealthy`, on next use).
   */
  detach(): boolean {
    if (this.#attached) {
      this.#attached = false;
      if (this.socket.readableLength > 0) this.#unfit ??= 'unexpected-data';
      this.socket.setTimeout(0);
      this.#watchIdle();
    }
    return this.isHealthy();
  }

  /**
   * False when the connection must not serve another exchange: destroyed, half-closed by the
   * peer, errored, or bytes arrived while it was idle. The pool checks it before every reuse.
   */
  isHealthy(): boolean {
    return this.unfitReason === null;
  }

  /** Destroys the socket (and the proxy tunnel under it). Idempotent; never throws. */
  close(): void {
    this.socket.destroy();
    this.#tunnel?.destroy();
  }

  /**
   * `'close'`: the socket closed, whoever closed it. The pool listens to evict connections
   * whose peer hung up (`peer-closed`). A listener added after the socket closed is called
   * on the next microtask.
   */
  on(event: 'close', listener: () => void): this {
    if (event !== 'close') return this;
    if (this.socket.closed) queueMicrotask(listener);
    else this.socket.on('close', listener);
    return this;
  }

  /** Removes a listener added with {@link SocketTransport.on}. */
  off(event: 'close', listener: () => void): this {
    if (event === 'close') this.socket.off('close', listener);
    return this;
  }

  /**
   * What `console.log` and `util.inspect` show: the state, never the socket, whose TLS
   * options (key, passphrase) Node keeps on it.
   */
  [inspect.custom](): string {
    const state = this.#attached ? 'attached' : 'idle';
    const unfit = this.unfitReason;
    return `SocketTransport<${String(this.address)} ${state}${unfit === null ? '' : ` unfit: ${unfit}`}${this.alpnProtocol ? ` alpn: ${this.alpnProtocol}` : ''}>`;
  }

  #watchIdle(): void {
    const socket = this.socket;
    socket.on('data', SocketTransport.#onIdleData);
    // Flowing, so that stray bytes are noticed when they arrive and the peer's FIN is not
    // held up behind them.
    socket.resume();
    socket.unref();
  }

  static #onIdleData(this: OwnedSocket): void {
    const transport = this[kTransport];
    // The bytes are dropped: they answer no request, and nobody may read them.
    if (transport !== undefined) transport.#unfit ??= 'unexpected-data';
  }

  static #onError(this: OwnedSocket, error: Error): void {
    const transport = this[kTransport];
    if (transport === undefined) return;
    transport.#error ??= error;
    transport.#unfit ??= 'error';
  }

  static #onEnd(this: OwnedSocket): void {
    const transport = this[kTransport];
    if (transport !== undefined) transport.#unfit ??= 'peer-ended';
  }
}
