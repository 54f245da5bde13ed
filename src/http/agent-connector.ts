import type { LookupFunction, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Address, ConnectContext, Connector, Transport } from '../pool/index.js';
import { ConnectError, NetConnector, SocketTransport } from '../transport/index.js';
import { loadTimeSetImmediate } from './load-time-timers.js';

/** How a connection of one partition is made (see {@link AgentConnector.route}). */
export type PartitionConnect = (address: Address, context: ConnectContext) => Promise<Transport>;

/** A socket made outside the pool, waiting for the connect of its address (see {@link AgentConnector.handOver}). */
interface HandedOver {
  readonly socket: Socket;
  readonly transport: SocketTransport;
}

/**
 * The connector of the HTTP layer's pool: the pool's own connector (the `NetConnector`, or
 * the one given), plus what Node's `http.Agent` lets its clients decide per request or per
 * agent, which a pool-wide connector cannot know:
 * - a request's own DNS `lookup` (got's `dnsLookup`): its connections are made with it, in a
 *   partition of their own (see `lookupPartition`);
 * - an agent's `createConnection` (a subclass's, or set on the agent): its connections are
 *   made by it, in the agent's partition;
 * - a socket handed to an agent from outside, the way http2-wrapper (got's `http2: true`)
 *   hands over the TLS socket of its ALPN probe when the server chose HTTP/1.1: it becomes the
 *   connection of the very next connect to its address, instead of a second handshake.
 */
export class AgentConnector implements Connector {
  readonly #inner: Connector;
  readonly #routes = new Map<string, PartitionConnect>();
  readonly #handedOver = new Map<string, HandedOver>();

  constructor(inner: Connector) {
    this.#inner = inner;
  }

  connect(address: Address, context: ConnectContext): Promise<Transport> {
    if (this.#handedOver.size > 0) {
      const handed = this.#handedOver.get(address.key);
      if (handed !== undefined) {
        this.#handedOver.delete(address.key);
        if (!handed.socket.destroyed) return Promise.resolve(handed.transport);
      }
    }
    const partition = address.partition;
    const route = partition === undefined ? undefined : this.#routes.get(partition);
    return route === undefined ? this.#inner.connect(address, context) : route(address, context);
  }

  /** Makes the connections of `partition` with `connect` from now on. */
  route(partition: string, connect: PartitionConnect): void {
    this.#routes.set(partition, connect);
  }

  /** Stops routing `partition` (its maker is gone). */
  unroute(partition: string): void {
    this.#routes.delete(partition);
  }

  /**
   * Keeps `socket`, connected to `address`, for the next connect to that address (within this
   * turn of the event loop); unclaimed by then, it is closed.
   */
  handOver(address: Address, socket: Socket): void {
    const previous = this.#handedOver.get(address.key);
    if (previous !== undefined) previous.socket.destroy();
    const handed = { socket, transport: new SocketTransport(socket, address) };
    this.#handedOver.set(address.key, handed);
    loadTimeSetImmediate(() => {
      if (this.#handedOver.get(address.key) !== handed) return;
      this.#handedOver.delete(address.key);
      socket.destroy();
    });
  }
}

/** The connectors of the pools that have one, for their agents to find. */
const connectors = new WeakMap<object, AgentConnector>();

/** Records `connector` as the one of `pool`. */
export function registerAgentConnector(pool: object, connector: AgentConnector): void {
  connectors.set(pool, connector);
}

/** The {@link AgentConnector} of `pool`, if it was made by the HTTP layer's `ConnectionPool`. */
export function agentConnectorOf(pool: object): AgentConnector | undefined {
  return connectors.get(pool);
}

const lookupIds = new WeakMap<LookupFunction, string>();
let nextLookupId = 1;
/** Drops the route of a lookup function once it is garbage (a client that makes one per request). */
const forgetLookup = new FinalizationRegistry<{ connector: WeakRef<AgentConnector>; partition: string }>(({ connector, partition }) => {
  connector.deref()?.unroute(partition);
});

/**
 * The partition whose connections `connector` makes with `lookup` (routed on first use):
 * connections made with a request's own DNS lookup are shared only with requests that use
 * the same lookup function. They are made by a `NetConnector` with that lookup and its
 * defaults otherwise.
 */
export function lookupPartition(connector: AgentConnector, lookup: LookupFunction): string {
  let partition = lookupIds.get(lookup);
  if (partition !== undefined) return partition;
  partition = `lookup#${nextLookupId++}`;
  lookupIds.set(lookup, partition);
  const ref = new WeakRef(lookup);
  connector.route(partition, (address, context) => {
    const current = ref.deref();
    if (current === undefined) return Promise.reject(new Error(`The DNS lookup of ${String(address)} is gone; send the request again.`));
    return new NetConnector({ lookup: current }).connect(address, context);
  });
  forgetLookup.register(lookup, { connector: new WeakRef(connector), partition });
  return partition;
}

/**
 * Makes a connection with an agent's `createConnection(options, callback)`, as Node's agent
 * calls it (it may return the socket, or pass it to the callback), and waits until the socket
 * is connected (and its TLS handshake done). Honours the pool's signal; a failure rejects
 * with a {@link ConnectError} around the socket's error.
 */
export function connectWith(
  createConnection: (options: Record<string, unknown>, callback: (error: Error | null, socket?: Socket) => void) => Socket | undefined | void,
  options: Record<string, unknown>,
  address: Address,
  { signal }: ConnectContext,
): Promise<Transport> {
  const target = String(address);
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let socket: Socket | null = null;
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (socket !== null) {
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
        socket.removeListener(readyEvent(socket), onReady);
      }
      if (error === null) {
        resolve(new SocketTransport(socket as Socket, address));
        return;
      }
      socket?.destroy();
      reject(error === signal.reason ? error : new ConnectError(target, error));
    };
    const onAbort = (): void => settle(signal.reason as Error);
    const onError = (error: Error): void => settle(error);
    const onReady = (): void => settle(null);
    const onClose = (): void => settle(new Error('The socket closed before it was connected'));
    signal.addEventListener('abort', onAbort, { once: true });
    const adopt = (created: Socket): void => {
      if (settled || socket !== null) return;
      socket = created;
      socket.on('error', onError);
      socket.once('close', onClose);
      if (isReady(socket)) queueMicrotask(onReady);
      else socket.once(readyEvent(socket), onReady);
    };
    try {
      const returned = createConnection(options, (error, created) => {
        if (error) settle(error);
        else if (created !== undefined) adopt(created);
      });
      if (returned) adopt(returned);
    } catch (error) {
      settle(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

function readyEvent(socket: Socket): 'connect' | 'secureConnect' {
  return socket instanceof TLSSocket ? 'secureConnect' : 'connect';
}

function isReady(socket: Socket): boolean {
  if (socket.connecting) return false;
  return !(socket instanceof TLSSocket) || (socket as TLSSocket & { _secureEstablished?: boolean })._secureEstablished === true;
}
