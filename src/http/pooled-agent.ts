import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import * as net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { AddressInput, ConnectionPool, Lease } from '../pool/index.js';
import { AddressResolver, InvalidOptionError } from '../pool/index.js';
import { SocketTransport } from '../transport/index.js';
import { addressOfRequest, connectionOptions, nameOptions, type RequestOptions } from './agent-address.js';
import { agentConnectorOf, connectWith, lookupPartition, type AgentConnector } from './agent-connector.js';
import { AgentExchange, type ExchangeOwner } from './agent-exchange.js';
import { resolveAgentOptions, type PooledAgentOptions } from './agent-options.js';
import { AgentSocketLists, idleTimeoutOnFree } from './agent-sockets.js';
import { asPeerConnectError } from './connect-failure.js';
import { UnsupportedTransportError } from './errors.js';
import { parseKeepAliveTimeout } from './keep-alive-hint.js';
import { hasPendingRead } from './pending-read.js';
import { loadTimeSetImmediate } from './load-time-timers.js';

export type { PooledAgentOptions } from './agent-options.js';

/** What Node's ClientRequest has beyond its typings, that an agent uses. */
type AgentRequest = ClientRequest & {
  onSocket(socket: net.Socket | null, error?: Error): void;
  res?: IncomingMessage | null;
  /** The request's `timeout` option, which the agent applies to the socket. */
  timeout?: number;
};

/** Node's socket listener for free sockets, added on each keep-alive 'free' (see below). */
const FREE_SOCKET_ERROR_LISTENER = 'freeSocketErrorListener';

let nextAgentId = 1;

/** Sockets of the pool that an agent has handed to a request (to tell them from sockets handed over from outside). */
const pooledSockets = new WeakSet<net.Socket>();

/**
 * A real `https.Agent` (so also an `http.Agent`: `instanceof` and every client that takes
 * an agent accept it) whose sockets come from a {@link ConnectionPool} and go back to it.
 * Node's `http.request`/`https.request`, axios (`httpAgent`/`httpsAgent`), got
 * (`agent: { http, https }`) and `@nestjs/axios` all work with it, and so does
 * `http.globalAgent = pool.httpAgent()`.
 *
 * It keeps Node's `http.Agent` contract:
 * - `sockets`, `freeSockets`, `requests` and `totalSocketCount` say what it holds (a free
 *   socket is one it gave back that is still idle in the pool); `maxSockets`,
 *   `maxTotalSockets` (default: the pool's limits), `maxFreeSockets` and `scheduling` apply
 *   to it as to Node's; `timeout` is its sockets' timeout, in use and idle;
 * - the hooks `keepSocketAlive(socket)` (false: the connection is closed instead of reused),
 *   `reuseSocket(socket, req)` and `createConnection(options, callback)` (its connections are
 *   made by it) are called as Node calls them; a new connection's socket emits `'connect'`
 *   (and `'secureConnect'`) after the request's `'socket'` event, as a socket Node connects;
 * - a request's own `lookup` is used for its connections; connect failures are the socket's
 *   own errors (`ECONNREFUSED`, `EPROTO`, the error of a `checkServerIdentity`), with the
 *   redacted pool address as `error.connectTarget`; `agent: false` with this agent as
 *   `http.globalAgent` gets a one-off Node agent, as Node builds it (`new agent.constructor()`).
 *
 * A connection is released when its response has been read to the end with keep-alive.
 * After `Connection: close`, HTTP/1.0 without keep-alive, a response of unknown length, an
 * aborted request, a socket timeout, an error, or a request body that went out without
 * framing (see {@link AgentExchange.bodyWentOutUnframed}: its bytes may be read by the server
 * as another request), it gets noNewExchanges and closes. The server's `Keep-Alive: timeout=N`
 * is honoured: the connection is evicted `keepAliveHintMargin` before the server would drop it.
 *
 * Retries: the agent sends nothing again (`pool.dispatcher()` does). A request that fails on a
 * reused connection before any response byte reaches the caller with `req.reusedSocket ===
 * true`, the signal Node documents for the caller's own retry. What the agent does is make
 * that rare: an idle connection that the server closed, half-closed, reset or wrote to is
 * found unfit and replaced before reuse, and a reused connection is handed over only after
 * one turn of the event loop, so that a FIN or RST already on its way is read first. Where
 * Node's sockets can tell (Node 24), what waits unread in the kernel counts too, as for
 * Node's own agent there: see {@link hasPendingRead}.
 *
 * Leaks: a response whose body is never read holds its connection; the pool's
 * `leakDetectionThreshold` reports it (`lease-held-too-long`, naming the request).
 *
 * @example
 * ```ts
 * const agent = pool.httpAgent();
 * http.get('http://api.internal/health', { agent }, (res) => res.resume());
 * await axios.get(url, { httpAgent: pool.httpAgent(), httpsAgent: pool.httpsAgent() });
 * ```
 */
export class PooledAgent extends HttpsAgent implements ExchangeOwner {
  /** The pool the sockets come from. */
  readonly pool: ConnectionPool;
  readonly #protocol: 'http:' | 'https:';
  readonly #marginMs: number;
  readonly #tls: PooledAgentOptions['tls'];
  readonly #describeLeases: boolean;
  readonly #timeoutMs: number;
  readonly #fifo: boolean;
  readonly #lists: AgentSocketLists;
  readonly #connector: AgentConnector | undefined;
  /** The partition of the connections this agent's own `createConnection` makes. */
  readonly #ownPartition: string;
  #ownPartitionRouted = false;
  /** An http: agent whose own options shape no name: a request's name is Node's http getName() of its options. */
  readonly #plainNames: boolean;
  readonly #resolver = new AddressResolver();

  /**
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for the agent's own options (`protocol`,
   * `tls`, `keepAliveHintMargin`); Node's errors (`ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE`,
   * `ERR_INVALID_ARG_VALUE`) for Node's Agent options.
   */
  constructor(pool: ConnectionPool, options: PooledAgentOptions = {}) {
    if (typeof pool !== 'object' || pool === null || typeof (pool as { acquireNow?: unknown }).acquireNow !== 'function') {
      throw new InvalidOptionError('pool', pool, 'the ConnectionPool the agent leases its connections from: new PooledAgent(pool, options)');
    }
    const resolved = resolveAgentOptions(pool, options);
    // keepAlive: ClientRequest sends "Connection: keep-alive" only to keep-alive agents.
    super(resolved.nodeOptions);
    this.pool = pool;
    this.#protocol = resolved.protocol;
    this.#marginMs = resolved.marginMs;
    this.#tls = resolved.tls;
    this.#timeoutMs = resolved.timeoutMs;
    this.#fifo = (this as unknown as { scheduling: string }).scheduling === 'fifo';
    this.#describeLeases = pool.options.leakDetectionThresholdMs !== undefined;
    const self = this as unknown as { protocol: string; defaultPort: number; maxSockets: number; maxTotalSockets: number };
    self.protocol = resolved.protocol;
    self.defaultPort = resolved.protocol === 'https:' ? 443 : 80;
    self.maxSockets = resolved.maxSockets;
    self.maxTotalSockets = resolved.maxTotalSockets;
    this.#lists = new AgentSocketLists(this as unknown as ConstructorParameters<typeof AgentSocketLists>[0], resolved.ownLimits);
    this.#connector = agentConnectorOf(pool);
    this.#ownPartition = `agent#${nextAgentId++}`;
    const own = this.options as Record<string, unknown>;
    this.#plainNames = resolved.protocol === 'http:' && own.host === undefined && own.port === undefined && own.localAddress === undefined && own.family === undefined && own.socketPath === undefined;
    // `agent: false` makes Node build a one-off agent as `new defaultAgent.constructor()`:
    // with this agent as the global one, that is Node's own agent of the same protocol.
    Object.defineProperty(this, 'constructor', { value: resolved.protocol === 'https:' ? HttpsAgent : HttpAgent, enumerable: false, configurable: true, writable: true });
    // A socket handed over through the agent's 'free' event (as http2-wrapper hands over its
    // ALPN probe's socket) is not one of the pool's: Node's handler would file it in a free
    // list this agent never takes from, and it would stay open for nothing.
    this.removeAllListeners('free');
    this.on('free', (socket: net.Socket, requestOptions: RequestOptions) => this.#adoptHandedOver(socket, requestOptions));
  }

  /**
   * Called by Node's `ClientRequest` for every request: leases a connection from the pool
   * and hands its socket to the request, or queues the request while this agent is at its
   * `maxSockets`/`maxTotalSockets`.
   */
  addRequest(req: AgentRequest, options: RequestOptions): void {
    let address: AddressInput;
    try {
      address = this.#addressOf(options);
    } catch (error) {
      req.onSocket(null, error as Error);
      return;
    }
    // Node files a request under getName() of its options merged with the agent's; an http:
    // name reads only host, port, localAddress, family and socketPath, which the agent's
    // options seldom set (the merge, and the TLS server name, are for https: names).
    const name = this.#plainNames ? HttpAgent.prototype.getName.call(this, options as never) : this.getName(nameOptions(req, options, this.options) as never);
    if (!this.#lists.hasRoom(name)) {
      this.#lists.queue(name, req, options);
      return;
    }
    let ready: Lease | null;
    try {
      ready = this.pool.acquireNow(address, this.#fifo);
    } catch (error) {
      req.onSocket(null, error as Error);
      return;
    }
    this.#lists.leasing(name);
    // undici's idle-socket validation: a reused connection waits one turn of the event loop,
    // so that a FIN, RST or stray bytes already on their way are read first and the request
    // goes to a fresh connection instead of a closed one. #assignValidated also asks the kernel
    // (on Node 24): that turn polls no network when the request comes from a response's 'end'.
    if (ready !== null) {
      loadTimeSetImmediate(() => this.#assignValidated(req, ready, address, name));
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
        if (!lease.reused) this.#assign(req, lease, name);
        else loadTimeSetImmediate(() => this.#assignValidated(req, lease, address, name));
      },
      (error: Error) => {
        req.destroy = destroy;
        this.#leaseFailed(req, name, error);
      },
    );
  }

  /**
   * Node's hook, called when a response has been read to the end and its connection is about
   * to go back to the pool: false closes the connection instead. Returns true: the pool
   * decides the rest (the server's keep-alive hint, idle time, health).
   */
  override keepSocketAlive(socket: net.Socket): boolean {
    void socket;
    return true;
  }

  /** Node's hook, called when a request is given a connection that served earlier requests. */
  override reuseSocket(socket: net.Socket, req: ClientRequest): void {
    void socket;
    req.reusedSocket = true;
  }

  /**
   * Node's hook that makes a socket. The pool's connector makes this agent's connections; a
   * subclass (or a caller) that replaces this method makes them instead, in a partition of
   * their own (on a pool made by this package's `ConnectionPool`).
   */
  override createConnection(options: Record<string, unknown>, callback?: (error: Error | null, socket: net.Socket) => void): net.Socket {
    // As Node's agents do; the callback is also a 'connect' listener there, which the caller ignores.
    if (this.#protocol === 'https:') return HttpsAgent.prototype.createConnection.call(this, options, callback as never) as net.Socket;
    return net.createConnection(options as unknown as net.NetConnectOpts, callback as () => void);
  }

  /** Node's name for a request's origin: `http.Agent`'s for an `http:` agent, `https.Agent`'s for an `https:` one. */
  override getName(options?: Parameters<HttpsAgent['getName']>[0]): string {
    return this.#protocol === 'https:' ? super.getName(options) : HttpAgent.prototype.getName.call(this, options as never);
  }

  /** The pool owns the connections: destroying the agent leaves them to the pool's close(). */
  override destroy(): void {}

  /** @internal */
  get describesLeases(): boolean {
    return this.#describeLeases;
  }

  /** @internal How long the connection may stay idle after this response, or undefined. */
  idleTimeoutFor(res: IncomingMessage | null | undefined): number | undefined {
    const hint = parseKeepAliveTimeout(res?.headers['keep-alive']);
    if (hint === undefined) return undefined;
    return hint - this.#marginMs;
  }

  /** @internal An exchange is over: the connection goes back to the pool, reusable or not. */
  exchangeEnded(exchange: AgentExchange, free: boolean): void {
    const { lease, transport, socket, name } = exchange;
    let fit = false;
    if (free) {
      const message = socket as net.Socket & { _httpMessage?: AgentRequest | null };
      const res = message._httpMessage?.res;
      message._httpMessage = null;
      const idleTimeout = this.idleTimeoutFor(res);
      transport.idleTimeout = idleTimeout;
      const keep = this.#keepAlive(socket);
      const unframed = exchange.bodyWentOutUnframed();
      fit = transport.detach() && keep && !unframed && !(idleTimeout !== undefined && idleTimeout <= 0);
    }
    if (!this.#lists.doneWith(name, socket, fit) && fit) fit = false;
    if (fit) {
      if (this.#timeoutMs > 0) idleTimeoutOnFree(socket, this.#timeoutMs);
    } else {
      lease.noNewExchanges();
    }
    lease.release();
    this.#serveQueued();
  }

  #keepAlive(socket: net.Socket): boolean {
    try {
      return this.keepSocketAlive(socket) !== false;
    } catch {
      // A hook that throws has not said the connection may live on.
      return false;
    }
  }

  /** Requests queued for this agent's limits go once there is room. */
  #serveQueued(): void {
    for (let next = this.#lists.nextQueued(); next !== null; next = this.#lists.nextQueued()) {
      this.addRequest(next.req as AgentRequest, next.options as RequestOptions);
    }
  }

  #leaseFailed(req: AgentRequest, name: string, error: Error): void {
    this.#lists.leased(name);
    // A request destroyed while waiting ends with its own error, as Node's agent does.
    req.onSocket(null, req.destroyed ? undefined : asPeerConnectError(error));
    this.#serveQueued();
  }

  #assignValidated(req: AgentRequest, lease: Lease, address: AddressInput, name: string): void {
    const transport = lease.transport;
    // What the event loop has read (isHealthy), then what it has not read yet (the kernel's).
    if (transport.isHealthy?.() !== false && !(transport instanceof SocketTransport && hasPendingRead(transport.socket))) {
      this.#assign(req, lease, name);
      return;
    }
    lease.noNewExchanges();
    lease.release();
    // Its siblings may have been closed as well: a new connection, not another idle one.
    this.pool.acquire(address, { reuse: false }).then(
      (fresh) => this.#assign(req, fresh, name),
      (error: Error) => this.#leaseFailed(req, name, error),
    );
  }

  #assign(req: AgentRequest, lease: Lease, name: string): void {
    this.#lists.leased(name);
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
      this.#serveQueued();
      return;
    }
    const socket = transport.attach();
    pooledSockets.add(socket);
    // Node adds this listener each time a keep-alive socket is freed and removes it on
    // reuse from its own free list; a pooled socket must shed it the same way.
    for (const listener of socket.listeners('error')) {
      if ((listener as { name?: string }).name === FREE_SOCKET_ERROR_LISTENER) socket.removeListener('error', listener as () => void);
    }
    if (this.#describeLeases) lease.describe(`${req.method} ${this.#protocol}//${req.host}${req.path}: request in flight`);
    this.#lists.inUse(name, socket);
    const exchange = new AgentExchange(this, this.#protocol, req, lease, transport, socket, name);
    exchange.start();
    if (lease.reused) this.reuseSocket(socket, req);
    else req.reusedSocket = false;
    req.onSocket(socket);
    // As Node's agent does: the request's `timeout` option, else the agent's, is the socket's.
    const timeout = req.timeout ?? this.#timeoutMs;
    if (timeout > 0 || socket.timeout) socket.setTimeout(timeout);
    if (!lease.reused) announceConnect(req, socket);
  }

  #addressOf(options: RequestOptions): AddressInput {
    return addressOfRequest(options, { protocol: this.#protocol, tls: this.#tls, partition: this.#partitionFor(options) });
  }

  /** The partition of a request whose connections must be made otherwise than by the pool's connector. */
  #partitionFor(options: RequestOptions): string | undefined {
    const connector = this.#connector;
    if (connector === undefined) return undefined;
    if (this.createConnection !== PooledAgent.prototype.createConnection) {
      if (!this.#ownPartitionRouted) {
        this.#ownPartitionRouted = true;
        connector.route(this.#ownPartition, (address, context) =>
          connectWith((opts, callback) => this.createConnection(opts, callback), connectionOptions(address, this.options), address, context),
        );
      }
      return this.#ownPartition;
    }
    if (typeof options.lookup === 'function') return lookupPartition(connector, options.lookup);
    return undefined;
  }

  /** A socket handed over from outside (see the constructor): the connection of the next request to its address. */
  #adoptHandedOver(socket: net.Socket, options: RequestOptions): void {
    // One of the pool's own (its request ended, and a foreign listener passed the word on).
    if (pooledSockets.has(socket)) return;
    if (this.#connector === undefined || socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    let address;
    try {
      address = this.#resolver.resolve(this.#addressOf(options));
    } catch {
      socket.destroy();
      return;
    }
    this.#connector.handOver(address, socket);
  }
}

/** A new connection's socket emits what Node's would after the request's `'socket'` event. */
function announceConnect(req: ClientRequest, socket: net.Socket): void {
  req.once('socket', () =>
    process.nextTick(() => {
      if (socket.destroyed) return;
      socket.emit('connect');
      if (socket instanceof TLSSocket) socket.emit('secureConnect');
    }),
  );
}
