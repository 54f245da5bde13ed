import { EventEmitter, once } from 'node:events';
import * as net from 'node:net';
import { LOOPBACK } from './local-servers.js';
import { SeededRandom } from './seeded-random.js';

/**
 * Faults the proxy injects at random, each drawn from the connection's own seeded generator
 * (see {@link SeededRandom.forStream}), so that a run is replayed by its seed as far as a real
 * network allows. Every probability is per chunk of bytes read, 0 (the default) never.
 */
export interface RandomFaults {
  /** Added to every chunk, both ways, before it is forwarded (ms). Order is kept. */
  latencyMs?: number;
  /** Up to this much more, per chunk, uniformly (ms). */
  jitterMs?: number;
  /**
   * A connection that has carried a response and then sat idle at least `staleAfterMs` is
   * dead with this probability when a request arrives on it: the client gets a RST and the
   * request goes nowhere. A NAT mapping or a server that dropped the connection without
   * the FIN ever arriving: what a client meets when it reuses a stale connection.
   */
  staleReset?: number;
  /** See `staleReset`. Default 0 (any idle time). */
  staleAfterMs?: number;
  /** A response chunk is cut: a prefix of it (possibly empty) is forwarded, then a RST. */
  resetMidResponse?: number;
  /** After a response chunk the proxy half-closes towards the client (FIN) and keeps reading. */
  halfCloseAfterResponse?: number;
  /** A new connection is reset as soon as it is accepted. */
  resetOnAccept?: number;
  /**
   * Idle connections are closed after this long, as a server's idle timeout does (FIN to the
   * client; a request that arrives after it gets a RST, as from a closed socket). A connection
   * waiting for its response is never idle.
   */
  idleCloseMs?: number;
  /** Up to this much more idle time per connection, drawn once when it is accepted (ms). */
  idleCloseJitterMs?: number;
}

/** Options of a {@link FaultProxy}. */
export interface FaultProxyOptions {
  /** The upstream's port. */
  targetPort: number;
  /** The upstream's host: 127.0.0.1 and nothing else (the tests never leave loopback). */
  targetHost?: string;
  /** Seeds every random decision. Default 1. */
  seed?: number;
  /** Faults injected at random from the start; see {@link FaultProxy.setRandomFaults}. */
  random?: RandomFaults;
}

/** What was done to a connection. */
export type FaultKind =
  | 'reset'
  | 'stale-reset'
  | 'reset-mid-response'
  | 'reset-on-accept'
  | 'half-close'
  | 'idle-close'
  | 'blackholed'
  | 'held';

/** One fault, as the proxy injected it. */
export interface FaultRecord {
  /** `Date.now()` when it was injected. */
  readonly at: number;
  /** The proxied connection (0: the first accepted). */
  readonly serial: number;
  /** The client's port on that connection, to match it with a client-side socket. */
  readonly clientPort: number;
  readonly kind: FaultKind;
  readonly cause: 'random' | 'command';
}

/** How a proxied connection is being treated now. */
export type ProxiedState = 'forwarding' | 'half-closed' | 'closing' | 'held' | 'blackholed' | 'closed';

/** One proxied connection, as `connections()` reports it. */
export interface ProxiedConnectionInfo {
  readonly serial: number;
  readonly clientPort: number;
  readonly acceptedAt: number;
  readonly closedAt: number | null;
  readonly state: ProxiedState;
  readonly bytesToUpstream: number;
  readonly bytesToClient: number;
  /** Bytes a held connection sent and the proxy keeps (a TLS ClientHello, say). */
  readonly heldBytes: number;
  /** Bytes the proxy read and threw away (blackholed, or sent to a connection it had closed). */
  readonly droppedBytes: number;
  readonly faults: readonly FaultKind[];
}

/**
 * Resets `socket` (RST), or destroys it while its FIN is still being sent: Node cannot reset a
 * socket whose shutdown is in progress (libuv refuses with EINVAL, Node emits 'error', and the
 * handle is never closed: its file descriptor leaks, Node 20). Once the shutdown is done
 * ('finish'), a reset works again. A socket destroyed that then receives bytes is answered with
 * a RST by the kernel anyway.
 */
function abort(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished) socket.destroy();
  else socket.resetAndDestroy();
}

/** A marker in a delay line: a chunk of bytes, or what to do once everything before it is out. */
type Item = Buffer | 'end' | 'reset';

/**
 * A one-way delay line: items come out in order, each no earlier than it was due. One timer
 * per line, not per chunk, so that order holds whatever the delays.
 */
class DelayLine {
  readonly #queue: Array<{ due: number; item: Item }> = [];
  #timer: NodeJS.Timeout | null = null;
  #lastDue = 0;

  constructor(private readonly deliver: (item: Item) => void) {}

  push(item: Item, delayMs: number): void {
    const now = Date.now();
    if (delayMs <= 0 && this.#queue.length === 0) {
      this.deliver(item);
      return;
    }
    const due = Math.max(now + delayMs, this.#lastDue);
    this.#lastDue = due;
    this.#queue.push({ due, item });
    this.#arm();
  }

  clear(): void {
    this.#queue.length = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    if (this.#timer !== null) return;
    const head = this.#queue[0];
    if (head === undefined) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.due - Date.now()));
  }

  #flush(): void {
    this.#timer = null;
    const now = Date.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { due: number }).due <= now) {
      const { item } = this.#queue.shift() as { item: Item };
      this.deliver(item);
    }
    this.#arm();
  }
}

/** One client connection and its upstream, and what the proxy does to them. */
class ProxiedConnection {
  readonly acceptedAt = Date.now();
  readonly clientPort: number;
  readonly faults: FaultKind[] = [];
  readonly held: Buffer[] = [];
  state: ProxiedState = 'forwarding';
  upstream: net.Socket | null = null;
  closedAt: number | null = null;
  bytesToUpstream = 0;
  bytesToClient = 0;
  droppedBytes = 0;
  /** When a byte last went either way. */
  lastActivity = Date.now();
  lastFromClient = 0;
  lastFromUpstream = 0;
  idleTimer: NodeJS.Timeout | null = null;
  /** This connection's own idle timeout (ms), jitter included; drawn when idle closing is on. */
  idleCloseMs: number | null = null;
  readonly toUpstream: DelayLine;
  readonly toClient: DelayLine;

  constructor(
    readonly serial: number,
    readonly client: net.Socket,
    readonly random: SeededRandom,
  ) {
    this.clientPort = client.remotePort ?? -1;
    this.toUpstream = new DelayLine((item) => {
      const upstream = this.upstream;
      if (upstream === null || upstream.destroyed) return;
      if (item === 'end') upstream.end();
      else if (item === 'reset') abort(upstream);
      else upstream.write(item);
    });
    this.toClient = new DelayLine((item) => {
      if (this.client.destroyed) return;
      if (item === 'end') this.client.end();
      else if (item === 'reset') abort(this.client);
      else if (this.client.writable) this.client.write(item);
    });
  }

  /** Waiting for a response: a request went up after the last byte came down. */
  get awaitingResponse(): boolean {
    return this.lastFromClient > this.lastFromUpstream;
  }

  info(): ProxiedConnectionInfo {
    return {
      serial: this.serial,
      clientPort: this.clientPort,
      acceptedAt: this.acceptedAt,
      closedAt: this.closedAt,
      state: this.state,
      bytesToUpstream: this.bytesToUpstream,
      bytesToClient: this.bytesToClient,
      heldBytes: this.held.reduce((sum, chunk) => sum + chunk.length, 0),
      droppedBytes: this.droppedBytes,
      faults: [...this.faults],
    };
  }
}

/**
 * A TCP proxy on 127.0.0.1, for tests, between a client (the pool) and a real upstream server
 * on 127.0.0.1, that does to connections what networks and servers do: it adds latency, resets
 * (RST), half-closes, stops forwarding and answering (blackhole), closes idle connections, holds
 * new connections without a word (a TLS handshake that never completes), and refuses new
 * connections for a while. Faults happen at random (seeded, see {@link RandomFaults}) or on
 * command (the methods below), and every one is recorded in {@link FaultProxy.faults}, with the
 * client's port, so that a test can tell which of its requests met which fault.
 *
 * It forwards bytes without parsing them, so TLS passes through untouched. It does not apply
 * back-pressure: it is for small test exchanges, not bulk transfers.
 *
 * Events: `'fault'` (a {@link FaultRecord}), `'connection'` (a serial), `'closed'` (a serial).
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start({ targetPort: upstream.port, seed: 42, random: { latencyMs: 1, staleReset: 0.05 } });
 * await fetchThrough(`http://127.0.0.1:${proxy.port}/`);
 * proxy.blackhole();      // nothing more is forwarded or answered
 * await proxy.refuseFor(200); // connects get ECONNREFUSED for 200 ms
 * await proxy.close();
 * ```
 */
export class FaultProxy extends EventEmitter {
  readonly targetPort: number;
  readonly seed: number;
  /** Every fault injected, in order. */
  readonly faults: FaultRecord[] = [];
  readonly #faultsBySerial = new Map<number, FaultRecord[]>();
  #port = 0;
  #server: net.Server | null = null;
  #random: Required<RandomFaults>;
  readonly #connections = new Map<number, ProxiedConnection>();
  /** Every connection ever accepted, by serial (closed ones kept, for attribution). */
  readonly #history: ProxiedConnection[] = [];
  #blackholed = false;
  #holding = false;
  #refusing = false;
  #refusalEnds: (() => void) | null = null;
  #closed = false;

  private constructor(options: FaultProxyOptions) {
    super();
    const host = options.targetHost ?? LOOPBACK;
    // A test proxy must never be pointed away from this machine.
    if (host !== LOOPBACK) throw new Error(`FaultProxy forwards to ${LOOPBACK} only, not to ${JSON.stringify(host)}`);
    if (!Number.isInteger(options.targetPort) || options.targetPort < 1 || options.targetPort > 65_535) {
      throw new Error(`FaultProxy: targetPort ${String(options.targetPort)} is not a port`);
    }
    this.targetPort = options.targetPort;
    this.seed = options.seed ?? 1;
    this.#random = withDefaults(options.random ?? {});
  }

  /** Starts a proxy listening on 127.0.0.1 (a free port) in front of `targetPort`. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.#listen(0);
    return proxy;
  }

  /** The port the proxy listens on (the same for its whole life, refusals included). */
  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://${LOOPBACK}:${this.#port}`;
  }

  /** The random faults in force now. */
  get randomFaults(): Readonly<Required<RandomFaults>> {
    return this.#random;
  }

  /** Replaces the random faults (unset ones are off). Applies to chunks read from now on. */
  setRandomFaults(random: RandomFaults): void {
    this.#random = withDefaults(random);
    for (const connection of this.#connections.values()) this.#armIdle(connection);
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#history.length;
  }

  /** Connections open now (client side), in accept order. */
  connections(): ProxiedConnectionInfo[] {
    return [...this.#connections.values()].map((connection) => connection.info());
  }

  /** Open connections. */
  get openConnections(): number {
    return this.#connections.size;
  }

  /**
   * The connection a client socket with local port `clientPort` had, the latest accepted at or
   * before `at` (ports are reused over a long run).
   */
  connectionByClientPort(clientPort: number, at = Date.now()): ProxiedConnectionInfo | undefined {
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const connection = this.#history[i] as ProxiedConnection;
      if (connection.clientPort === clientPort && connection.acceptedAt <= at) return connection.info();
    }
    return undefined;
  }

  /** The faults injected on one connection (by serial), in order. */
  faultsFor(serial: number): readonly FaultRecord[] {
    return this.#faultsBySerial.get(serial) ?? [];
  }

  /** How many faults of each kind were injected. */
  faultCounts(): Partial<Record<FaultKind, number>> {
    const counts: Partial<Record<FaultKind, number>> = {};
    for (const fault of this.faults) counts[fault.kind] = (counts[fault.kind] ?? 0) + 1;
    return counts;
  }

  // ---- faults on command -----------------------------------------------------------------

  /** Resets (RST) one connection, or every open one. Returns how many. */
  reset(serial?: number): number {
    return this.#each(serial, (connection) => this.#reset(connection, 'reset', 'command'));
  }

  /**
   * Half-closes towards the client (FIN) one connection or every open one, and keeps
   * forwarding what the client still sends. Returns how many.
   */
  halfClose(serial?: number): number {
    return this.#each(serial, (connection) => this.#halfClose(connection, 'command'));
  }

  /**
   * Stops forwarding and answering, on every open connection and every new one, until
   * {@link FaultProxy.restore}: bytes are dropped, nothing is closed, as a peer that vanished.
   * Connections blackholed stay so for good (bytes were lost: their stream can never be
   * whole again); their clients must give up on them.
   */
  blackhole(): void {
    this.#blackholed = true;
    for (const connection of this.#connections.values()) this.#swallow(connection, 'command');
  }

  /**
   * Accepts new connections but holds their bytes and answers nothing, until
   * {@link FaultProxy.restore}: a TLS client waits for a ServerHello that never comes.
   * Held connections stay held for good; open ones are not touched.
   */
  holdHandshakes(): void {
    this.#holding = true;
  }

  /** Ends the blackhole and the holding of handshakes: new connections are forwarded again. */
  restore(): void {
    this.#blackholed = false;
    this.#holding = false;
  }

  /**
   * Stops listening, so that connects get ECONNREFUSED, until {@link FaultProxy.accept}; open
   * connections are not touched.
   */
  async refuse(): Promise<void> {
    if (this.#refusing || this.#closed) return;
    this.#refusing = true;
    const server = this.#server;
    this.#server = null;
    if (server !== null) {
      // close() waits for the accepted sockets too; 'listening' is over as soon as it is called.
      server.close();
    }
  }

  /** Listens again on the same port, after {@link FaultProxy.refuse}. */
  async accept(): Promise<void> {
    if (!this.#refusing || this.#closed) return;
    await this.#listen(this.#port);
    this.#refusing = false;
    this.#refusalEnds?.();
    this.#refusalEnds = null;
  }

  /** Refuses new connections for `ms`, then accepts again; resolves when it does. */
  async refuseFor(ms: number): Promise<void> {
    await this.refuse();
    const ends = new Promise<void>((resolve) => {
      this.#refusalEnds = resolve;
    });
    const timer = setTimeout(() => void this.accept().catch((error: unknown) => this.emit('error', error)), ms);
    await ends;
    clearTimeout(timer);
  }

  /** Whether new connections are refused now. */
  get refusing(): boolean {
    return this.#refusing;
  }

  /** Destroys every connection and stops listening; resolves once every socket has closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#refusalEnds?.();
    const sockets: net.Socket[] = [];
    for (const connection of this.#connections.values()) {
      sockets.push(connection.client);
      if (connection.upstream) sockets.push(connection.upstream);
    }
    const closed = sockets.filter((socket) => !socket.closed).map((socket) => once(socket, 'close'));
    for (const connection of [...this.#connections.values()]) this.#destroy(connection);
    await Promise.all(closed);
    const server = this.#server;
    this.#server = null;
    if (server !== null && server.listening) {
      const done = once(server, 'close');
      server.close();
      await done;
    }
  }

  // ---- the proxy itself ------------------------------------------------------------------

  async #listen(port: number): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.#onAccept(client));
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new Error(`FaultProxy could not listen on ${LOOPBACK}:${port}: ${error.message}`, { cause: error }));
      server.once('error', onError);
      server.listen({ host: LOOPBACK, port }, () => {
        server.removeListener('error', onError);
        resolve();
      });
    });
    server.on('error', (error) => this.emit('error', error));
    this.#port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  #onAccept(client: net.Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    const serial = this.#history.length;
    const connection = new ProxiedConnection(serial, client, SeededRandom.forStream(this.seed, serial));
    this.#history.push(connection);
    this.#connections.set(serial, connection);
    client.on('error', () => undefined);
    client.setNoDelay(true);
    client.on('close', () => this.#onClientClosed(connection));
    client.on('data', (chunk: Buffer) => this.#fromClient(connection, chunk));
    client.on('end', () => this.#onClientEnd(connection));
    this.emit('connection', serial);

    if (this.#random.resetOnAccept > 0 && connection.random.chance(this.#random.resetOnAccept)) {
      this.#reset(connection, 'reset-on-accept', 'random');
      return;
    }
    if (this.#blackholed) {
      this.#swallow(connection, 'command');
      return;
    }
    if (this.#holding) {
      connection.state = 'held';
      this.#record(connection, 'held', 'command');
      return;
    }
    this.#connectUpstream(connection);
  }

  #connectUpstream(connection: ProxiedConnection): void {
    const upstream = net.connect({ host: LOOPBACK, port: this.targetPort });
    connection.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => undefined);
    upstream.on('data', (chunk: Buffer) => this.#fromUpstream(connection, chunk));
    upstream.on('end', () => {
      if (connection.state === 'forwarding') connection.toClient.push('end', this.#delay(connection));
    });
    upstream.on('close', (hadError) => {
      if (connection.state !== 'forwarding' && connection.state !== 'half-closed') return;
      // A reset from the server reaches the client as a reset; a clean close, as a close.
      if (hadError) connection.toClient.push('reset', this.#delay(connection));
      else connection.toClient.push('end', this.#delay(connection));
    });
    this.#armIdle(connection);
  }

  #fromClient(connection: ProxiedConnection, chunk: Buffer): void {
    const now = Date.now();
    switch (connection.state) {
      case 'held':
        connection.held.push(chunk);
        return;
      case 'blackholed':
      case 'closed':
        connection.droppedBytes += chunk.length;
        return;
      case 'closing':
        connection.droppedBytes += chunk.length;
        // The "server" closed this connection: a closed socket answers with a reset.
        abort(connection.client);
        return;
      default:
        break;
    }
    const random = this.#random;
    // Random faults strike forwarding connections only, so that a connection's draws depend
    // on its own exchanges and not on when a client noticed an earlier fault.
    if (
      connection.state === 'forwarding' &&
      random.staleReset > 0 &&
      connection.bytesToClient > 0 &&
      !connection.awaitingResponse &&
      now - connection.lastActivity >= random.staleAfterMs &&
      connection.random.chance(random.staleReset)
    ) {
      this.#reset(connection, 'stale-reset', 'random');
      return;
    }
    connection.lastActivity = now;
    connection.lastFromClient = now;
    connection.bytesToUpstream += chunk.length;
    connection.toUpstream.push(chunk, this.#delay(connection));
    this.#armIdle(connection);
  }

  #fromUpstream(connection: ProxiedConnection, chunk: Buffer): void {
    if (connection.state !== 'forwarding') {
      connection.droppedBytes += chunk.length;
      return;
    }
    const now = Date.now();
    connection.lastActivity = now;
    connection.lastFromUpstream = now;
    const random = this.#random;
    if (random.resetMidResponse > 0 && connection.random.chance(random.resetMidResponse)) {
      const cut = connection.random.int(0, chunk.length - 1);
      this.#record(connection, 'reset-mid-response', 'random');
      const delay = this.#delay(connection);
      if (cut > 0) {
        connection.bytesToClient += cut;
        connection.toClient.push(chunk.subarray(0, cut), delay);
      }
      // Stop reading the upstream now; the client's reset goes out after the prefix.
      connection.state = 'closing';
      connection.upstream?.destroy();
      connection.toClient.push('reset', delay);
      this.#clearIdle(connection);
      return;
    }
    connection.bytesToClient += chunk.length;
    connection.toClient.push(chunk, this.#delay(connection));
    if (random.halfCloseAfterResponse > 0 && connection.random.chance(random.halfCloseAfterResponse)) {
      this.#halfClose(connection, 'random');
      return;
    }
    this.#armIdle(connection);
  }

  #onClientEnd(connection: ProxiedConnection): void {
    if (connection.state === 'forwarding' || connection.state === 'half-closed') {
      connection.toUpstream.push('end', this.#delay(connection));
    } else {
      connection.client.end();
    }
  }

  #onClientClosed(connection: ProxiedConnection): void {
    this.#destroy(connection);
  }

  #delay(connection: ProxiedConnection): number {
    const { latencyMs, jitterMs } = this.#random;
    if (latencyMs <= 0 && jitterMs <= 0) return 0;
    return latencyMs + (jitterMs > 0 ? connection.random.int(0, jitterMs) : 0);
  }

  // ---- fault mechanics -------------------------------------------------------------------

  #record(connection: ProxiedConnection, kind: FaultKind, cause: FaultRecord['cause']): void {
    connection.faults.push(kind);
    const record: FaultRecord = { at: Date.now(), serial: connection.serial, clientPort: connection.clientPort, kind, cause };
    this.faults.push(record);
    let own = this.#faultsBySerial.get(connection.serial);
    if (own === undefined) this.#faultsBySerial.set(connection.serial, (own = []));
    own.push(record);
    this.emit('fault', record);
  }

  #reset(connection: ProxiedConnection, kind: FaultKind, cause: FaultRecord['cause']): void {
    if (connection.state === 'closed') return;
    this.#record(connection, kind, cause);
    connection.state = 'closed';
    connection.toClient.clear();
    connection.toUpstream.clear();
    this.#clearIdle(connection);
    abort(connection.client);
    connection.upstream?.destroy();
  }

  #halfClose(connection: ProxiedConnection, cause: FaultRecord['cause']): void {
    if (connection.state !== 'forwarding') return;
    this.#record(connection, 'half-close', cause);
    connection.state = 'half-closed';
    this.#clearIdle(connection);
    connection.toClient.push('end', this.#delay(connection));
  }

  #swallow(connection: ProxiedConnection, cause: FaultRecord['cause']): void {
    if (connection.state === 'closed' || connection.state === 'blackholed') return;
    this.#record(connection, 'blackholed', cause);
    connection.state = 'blackholed';
    connection.toClient.clear();
    connection.toUpstream.clear();
    this.#clearIdle(connection);
    // The upstream goes quietly: the client must learn nothing.
    connection.upstream?.destroy();
  }

  #armIdle(connection: ProxiedConnection): void {
    const { idleCloseMs, idleCloseJitterMs } = this.#random;
    if (!(idleCloseMs > 0) || (connection.state !== 'forwarding' && connection.state !== 'half-closed')) {
      this.#clearIdle(connection);
      return;
    }
    connection.idleCloseMs ??= idleCloseMs + (idleCloseJitterMs > 0 ? connection.random.int(0, idleCloseJitterMs) : 0);
    if (connection.idleTimer !== null) {
      connection.idleTimer.refresh();
      return;
    }
    connection.idleTimer = setTimeout(() => this.#onIdle(connection), connection.idleCloseMs);
  }

  #clearIdle(connection: ProxiedConnection): void {
    if (connection.idleTimer !== null) clearTimeout(connection.idleTimer);
    connection.idleTimer = null;
  }

  #onIdle(connection: ProxiedConnection): void {
    connection.idleTimer = null;
    if (connection.state !== 'forwarding' && connection.state !== 'half-closed') return;
    const timeout = connection.idleCloseMs ?? 0;
    const idleFor = Date.now() - connection.lastActivity;
    // A server does not time out a request it is answering, nor a connection used since.
    if (connection.awaitingResponse || idleFor < timeout) {
      connection.idleTimer = setTimeout(() => this.#onIdle(connection), Math.max(1, timeout - idleFor));
      return;
    }
    this.#record(connection, 'idle-close', 'random');
    connection.state = 'closing';
    connection.toUpstream.clear();
    connection.upstream?.destroy();
    connection.toClient.push('end', 0);
  }

  #each(serial: number | undefined, act: (connection: ProxiedConnection) => void): number {
    const targets = serial === undefined ? [...this.#connections.values()] : [this.#connections.get(serial)].filter((c) => c !== undefined);
    for (const connection of targets) act(connection);
    return targets.length;
  }

  #destroy(connection: ProxiedConnection): void {
    if (!this.#connections.delete(connection.serial)) return;
    connection.state = 'closed';
    connection.closedAt = Date.now();
    connection.toClient.clear();
    connection.toUpstream.clear();
    this.#clearIdle(connection);
    connection.held.length = 0;
    connection.client.destroy();
    connection.upstream?.destroy();
    this.emit('closed', connection.serial);
  }
}

function withDefaults(random: RandomFaults): Required<RandomFaults> {
  return {
    latencyMs: random.latencyMs ?? 0,
    jitterMs: random.jitterMs ?? 0,
    staleReset: random.staleReset ?? 0,
    staleAfterMs: random.staleAfterMs ?? 0,
    resetMidResponse: random.resetMidResponse ?? 0,
    halfCloseAfterResponse: random.halfCloseAfterResponse ?? 0,
    resetOnAccept: random.resetOnAccept ?? 0,
    idleCloseMs: random.idleCloseMs ?? 0,
    idleCloseJitterMs: random.idleCloseJitterMs ?? 0,
  };
}
