import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { AddressInput, AddressOptions, ConnectionPool, Lease, TlsAddressOptions } from '../pool/index.js';
import { InvalidOptionError, checkTlsOptions, parseDuration, type Duration } from '../pool/index.js';
import { SocketTransport } from '../transport/index.js';
import { UnsupportedTransportError } from './errors.js';
import { parseKeepAliveTimeout } from './keep-alive-hint.js';

/** Options of a {@link PooledAgent}. */
export interface PooledAgentOptions {
  /** `'http:'` (the default) or `'https:'`: the scheme of the requests this agent serves. */
  protocol?: 'http:' | 'https:';
  /**
   * How long before the server's `Keep-Alive: timeout=N` a connection is evicted, so that
   * it is never reused just as the server drops it. A hint at or under the margin means the
   * connection is not pooled at all. Default `'1s'`.
   */
  keepAliveHintMargin?: Duration;
  /**
   * TLS options for every request of an `https:` agent (as `https.Agent`'s options):
   * `ca`, `cert`, `key`, `rejectUnauthorized`, ... A request's own options add to them.
   * They enter the pool's address key, so connections are shared only between equals.
   */
  tls?: TlsAddressOptions;
}

/** The TLS options Node passes to an agent that shape a connection (and so its reuse key). */
const TLS_OPTION_NAMES = [
  'ALPNProtocols',
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'ciphers',
  'minVersion',
  'maxVersion',
  'rejectUnauthorized',
  'checkServerIdentity',
  'ecdhCurve',
  'sigalgs',
  'secureOptions',
  'crl',
] as const satisfies ReadonlyArray<keyof TlsAddressOptions>;

/** What Node passes to `agent.addRequest` (the request's options, normalised). */
interface RequestOptions extends Partial<Record<(typeof TLS_OPTION_NAMES)[number], unknown>> {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  servername?: string;
  localAddress?: string;
  family?: number;
  socketPath?: string;
}

/** What Node's ClientRequest has beyond its typings, that an agent uses. */
type AgentRequest = ClientRequest & {
  onSocket(socket: Socket | null, error?: Error): void;
  res?: IncomingMessage | null;
  /** The request's `timeout` option, which the agent applies to the socket. */
  timeout?: number;
};

/** Node's socket listener for free sockets, added on each keep-alive 'free' (see below). */
const FREE_SOCKET_ERROR_LISTENER = 'freeSocketErrorListener';

/**
 * A real `https.Agent` (so also an `http.Agent`: `instanceof` and every client that takes
 * an agent accept it) whose sockets come from a {@link ConnectionPool} and go back to it.
 * Node's `http.request`/`https.request`, axios (`httpAgent`/`httpsAgent`), got
 * (`agent: { http, https }`) and `@nestjs/axios` all work with it.
 *
 * - A connection is released when its response has been read to the end with keep-alive.
 *   After `Connection: close`, HTTP/1.0 without keep-alive, a response of unknown length,
 *   an aborted request, a socket timeout or an error, it gets noNewExchanges and closes.
 * - The server's `Keep-Alive: timeout=N` is honoured: the connection is evicted
 *   `keepAliveHintMargin` before the server would drop it.
 * - `req.reusedSocket` is set as Node does.
 *
 * Retries: the agent sends nothing again. Node's http client writes the request as the
 * caller streams it and reports a failure on the request object, which the agent never owns
 * (the caller may have written a body it no longer holds); `pool.dispatcher()` does retry
 * (see `PoolDispatcher`). A request that fails on a reused connection before any
 * response byte (`ECONNRESET`, `socket hang up`) reaches the caller with
 * `req.reusedSocket === true`: the signal Node documents for the caller's own retry of an
 * idempotent request. What the agent does is make that rare, with the dispatcher's stale
 * detection: an idle connection that the server closed, half-closed, reset or wrote to is
 * found unfit and replaced before reuse, and a reused connection is handed over only after
 * one turn of the event loop (undici's idle-socket validation), so that a FIN or RST already
 * on its way is read first and the request goes to a new connection.
 *
 * Leaks: a response whose body is never read holds its connection. The pool's
 * `leakDetectionThreshold` reports it (`lease-held-too-long`, naming the request); garbage
 * collection cannot, because Node's open socket keeps the response reachable.
 *
 * @example
 * ```ts
 * const agent = pool.httpAgent();
 * http.get('http://api.internal/health', { agent }, (res) => res.resume());
 * await axios.get(url, { httpAgent: pool.httpAgent(), httpsAgent: pool.httpsAgent() });
 * ```
 */
export class PooledAgent extends HttpsAgent {
  /** The pool the sockets come from. */
  readonly pool: ConnectionPool;
  readonly #protocol: 'http:' | 'https:';
  readonly #marginMs: number;
  readonly #tls: TlsAddressOptions | undefined;
  readonly #describeLeases: boolean;

  constructor(pool: ConnectionPool, options: PooledAgentOptions = {}) {
    const protocol = options.protocol ?? 'http:';
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new InvalidOptionError('protocol', protocol, "'http:' or 'https:'");
    }
    checkTlsOptions('tls', options.tls);
    if (options.tls !== undefined && protocol === 'http:') {
      throw new InvalidOptionError('tls', '[TLS options]', "no TLS options on an 'http:' agent; use protocol: 'https:'");
    }
    // keepAlive: ClientRequest sends "Connection: keep-alive" only to keep-alive agents.
    super({ keepAlive: true, ...(options.tls as HttpsAgentOptions | undefined) });
    this.pool = pool;
    this.#protocol = protocol;
    (this as unknown as { protocol: string }).protocol = protocol;
    (this as unknown as { defaultPort: number }).defaultPort = protocol === 'https:' ? 443 : 80;
    this.#marginMs = options.keepAliveHintMargin === undefined ? 1_000 : parseDuration('keepAliveHintMargin', options.keepAliveHintMargin, false);
    this.#tls = options.tls;
    this.#describeLeases = pool.options.leakDetectionThresholdMs !== undefined;
  }

  /**
   * Called by Node's `ClientRequest` for every request: leases a connection from the pool
   * and hands its socket to the request.
   */
  addRequest(req: AgentRequest, options: RequestOptions): void {
    let address: AddressInput;
    try {
      address = this.#addressOf(options);
    } catch (error) {
      req.onSocket(null, error as Error);
      return;
    }
    let ready: Lease | null;
    try {
      ready = this.pool.acquireNow(address);
    } catch (error) {
      req.onSocket(null, error as Error);
      return;
    }
    // undici's idle-socket validation: a reused connection waits one turn of the event loop,
    // so that a FIN, RST or stray bytes already on their way are read first and the request
    // goes to a fresh connection instead of a closed one.
    if (ready !== null) {
      setImmediate(() => this.#assignValidated(req, ready, address));
      return;
    }
    // The request waits for a connect or a slot: if it is destroyed meanwhile (an abort, a
    // timeout), its acquire must end too, or it would hold its place in the queue. Node tells
    // an agent nothing of a request destroyed before it has a socket, so listen at destroy().
    const abort = new AbortController();
    const destroy = req.destroy;
    req.destroy = function destroyAndGiveUp(this: AgentRequest, error?: Error) {
      abort.abort(error);
      return destroy.call(this, error);
    } as typeof req.destroy;
    this.pool.acquire(address, { signal: abort.signal }).then(
      (lease) => {
        req.destroy = destroy;
        if (!lease.reused) this.#assign(req, lease);
        else setImmediate(() => this.#assignValidated(req, lease, address));
      },
      (error: Error) => {
        req.destroy = destroy;
        // A request destroyed while waiting ends with its own error, as Node's agent does.
        req.onSocket(null, req.destroyed ? undefined : error);
      },
    );
  }

  #assignValidated(req: AgentRequest, lease: Lease, address: AddressInput): void {
    if (lease.transport.isHealthy?.() !== false) {
      this.#assign(req, lease);
      return;
    }
    lease.noNewExchanges();
    lease.release();
    // Its siblings may have been closed as well: a new connection, not another idle one.
    this.pool.acquire(address, { reuse: false }).then(
      (fresh) => this.#assign(req, fresh),
      (error: Error) => req.onSocket(null, error),
    );
  }

  /** The pool owns the connections: destroying the agent leaves them to the pool's close(). */
  override destroy(): void {}

  #assign(req: AgentRequest, lease: Lease): void {
    const transport = lease.transport;
    if (!(transport instanceof SocketTransport)) {
      // An https: address that offered h2 by ALPN (tls.ALPNProtocols) may get an HTTP/2 session.
      lease.release();
      req.onSocket(
        null,
        new UnsupportedTransportError(
          'The PooledAgent',
          String((transport as { address?: unknown }).address ?? 'its address'),
          'it speaks HTTP/1.1 over a socket only. Do not offer h2 in tls.ALPNProtocols to the agent; use pool.dispatcher() for HTTP/2.',
        ),
      );
      return;
    }
    const socket = transport.attach();
    // Node adds this listener each time a keep-alive socket is freed and removes it on
    // reuse from its own free list; a pooled socket must shed it the same way.
    for (const listener of socket.listeners('error')) {
      if ((listener as { name?: string }).name === FREE_SOCKET_ERROR_LISTENER) socket.removeListener('error', listener as () => void);
    }
    if (this.#describeLeases) lease.describe(`${req.method} ${this.#protocol}//${req.host}${req.path}: request in flight`);
    const exchange = new Exchange(this, this.#protocol, req, lease, transport, socket);
    exchange.start();
    req.reusedSocket = lease.reused;
    req.onSocket(socket);
    // As Node's agent does: a request's `timeout` option is the socket's idle timeout.
    if (req.timeout !== undefined && req.timeout > 0) socket.setTimeout(req.timeout);
  }

  /** @internal How long the connection may stay idle after this response, or undefined. */
  idleTimeoutFor(res: IncomingMessage | null | undefined): number | undefined {
    const hint = parseKeepAliveTimeout(res?.headers['keep-alive']);
    if (hint === undefined) return undefined;
    return hint - this.#marginMs;
  }

  /** @internal */
  get describesLeases(): boolean {
    return this.#describeLeases;
  }

  #addressOf(options: RequestOptions): AddressInput {
    const host = stripBrackets(options.host ?? options.hostname ?? 'localhost');
    const port = options.port === undefined || options.port === null || options.port === '' ? (this.#protocol === 'https:' ? 443 : 80) : Number(options.port);
    const secure = this.#protocol === 'https:';
    let tls: TlsAddressOptions | undefined;
    if (secure) {
      for (const name of TLS_OPTION_NAMES) {
        const value = options[name] ?? this.#tls?.[name];
        if (value !== undefined) (tls ??= {})[name] = value as never;
      }
      const servername = options.servername ?? this.#tls?.servername;
      // SNI defaults to the host: only a different name shapes the connection.
      if (servername && servername !== host && !(isIP(host) && servername === '')) (tls ??= {}).servername = servername;
    }
    const shaped = tls !== undefined || options.localAddress !== undefined || (options.family !== undefined && options.family !== 0) || options.socketPath !== undefined;
    if (!shaped) {
      // The common case: a URL string, which the pool resolves from a cache.
      return `${this.#protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`;
    }
    const address: AddressOptions = { host, port, protocol: this.#protocol };
    if (secure) address.tls = tls ?? true;
    if (options.localAddress !== undefined) address.localAddress = options.localAddress;
    if (options.family === 4 || options.family === 6) address.family = options.family;
    if (options.socketPath !== undefined) address.socketPath = options.socketPath;
    return address;
  }
}

/**
 * One request's use of a leased connection: watches the socket until the response is read
 * to the end (Node emits `'free'`) or the socket is lost, then gives the lease back.
 */
class Exchange {
  #done = false;

  constructor(
    private readonly agent: PooledAgent,
    private readonly protocol: string,
    private readonly req: ClientRequest,
    private readonly lease: Lease,
    private readonly transport: SocketTransport,
    private readonly socket: Socket,
  ) {}

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

  /** Headers arrived: no keep-alive means this connection ends with this exchange. */
  readonly #onResponse = (res: IncomingMessage): void => {
    // Node discards a response nobody listens for; this listener of ours must not stop that,
    // or the body would never be read and the connection never released. It runs first
    // (prepended, and already removed as a once-listener), so what is left are the caller's.
    if (this.req.listenerCount('response') === 0) res.resume();
    if (!this.req.shouldKeepAlive || res.headers.connection?.toLowerCase() === 'close') this.lease.noNewExchanges();
    if (this.agent.describesLeases) {
      this.lease.describe(
        `${this.req.method} ${this.protocol}//${this.req.host}${this.req.path}: response ${res.statusCode} received, ` +
          'its body not read to the end (read it, or call res.resume() to discard it)',
      );
    }
  };

  /** Node read the response to the end with keep-alive: the connection can serve again. */
  readonly #onFree = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#stop();
    const socket = this.socket as Socket & { _httpMessage?: AgentRequest | null };
    const res = socket._httpMessage?.res;
    socket._httpMessage = null;
    const idleTimeout = this.agent.idleTimeoutFor(res);
    this.transport.idleTimeout = idleTimeout;
    if (idleTimeout !== undefined && idleTimeout <= 0) this.lease.noNewExchanges();
    if (!this.transport.detach()) this.lease.noNewExchanges();
    this.lease.release();
  };

  /** The socket closed under the exchange (aborted, errored, or the server closed it). */
  readonly #onClose = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#stop();
    this.lease.noNewExchanges();
    this.lease.release();
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

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
