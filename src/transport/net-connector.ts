import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  InvalidOptionError,
  checkTlsOptions,
  parseDuration,
  unrefTimerScheduler,
  type Address,
  type AddressProtocol,
  type ConnectContext,
  type Connector,
  type Duration,
} from '../pool/index.js';
import { BALANCE_MODES, ConnectionBalancer, type BalanceMode } from './connection-balancer.js';
import { establish } from './establish.js';
import { ConnectError, ProxyTunnelError } from './errors.js';
import { openHttp2Session } from './http2-connect.js';
import type { Http2SessionSettings, Http2SessionTransport } from './http2-session-transport.js';
import { requestTunnel } from './proxy-tunnel.js';
import { discardSocket, guardSocket } from './socket-state.js';
import { SocketTransport } from './socket-transport.js';

/** Options of the {@link NetConnector}: how sockets are made, for every address. */
export interface NetConnectorOptions {
  /** Disable Nagle's algorithm, as `http.Agent` does, so small requests leave at once. Default true. */
  noDelay?: boolean;
  /**
   * TCP keep-alive probes, so that a peer that vanished without a FIN (a crashed host, a
   * dropped NAT mapping) is noticed on an idle connection. Default true.
   */
  tcpKeepAlive?: boolean;
  /** Idle time before the first TCP keep-alive probe. Default `'30s'`. */
  tcpKeepAliveInitialDelay?: Duration;
  /**
   * Happy Eyeballs (RFC 8305): try every address a name resolves to, IPv6 and IPv4
   * interleaved, instead of only the first. Default true. Node does not use it when the
   * address sets `family` or `localAddress`.
   */
  autoSelectFamily?: boolean;
  /** How long each Happy Eyeballs attempt gets before the next one starts. Default: Node's (250 ms). */
  autoSelectFamilyAttemptTimeout?: Duration;
  /**
   * A DNS lookup to use instead of `dns.lookup` (e.g. a caching resolver). It is called for
   * every connect, so a name's new answers (a scaled-out Service) are used at once. With
   * `balance: 'least-connections'` it is called with `all: true` and must then answer with
   * every address (as `dns.lookup` does).
   */
  lookup?: net.LookupFunction;
  /**
   * Which of the addresses a host name resolves to a new connection goes to:
   * - `'first'` (default): the first that answers, in the resolver's order, as Node does.
   *   Behind a name with several backends (a Kubernetes headless Service, DNS round-robin)
   *   the pool's connections may all end up on one of them.
   * - `'least-connections'`: the one with the fewest open connections of this connector to
   *   that host and port (connects in flight count), ties in turn; an address whose connect
   *   failed lately (10 s) is tried after the others. Happy Eyeballs (`autoSelectFamily`)
   *   still interleaves IPv6 and IPv4 and moves on from an address that does not answer.
   *
   * Balancing decides where new connections go; it never moves a connection. Pair it with
   * the pool's `maxLifetime`, so that connections end and their successors spread over the
   * backends a scale-out added. Connections through a `proxy` are not balanced (the proxy
   * resolves the name). See `connections()`' `remoteAddress` for where each one went.
   */
  balance?: BalanceMode;
  /**
   * TLS options for reaching `https:` proxies (e.g. `ca` for a proxy with a private CA).
   * They shape every proxy connection of this connector, not one address.
   */
  proxyTls?: tls.ConnectionOptions;
  /** How HTTP/2 sessions are run, for `https:` addresses that negotiate `h2` by ALPN. */
  http2?: Http2Options;
}

/** HTTP/2 options of the {@link NetConnector}. */
export interface Http2Options {
  /**
   * The most streams (leases) one session carries at once, whatever the server allows; the
   * server's own SETTINGS_MAX_CONCURRENT_STREAMS applies when lower. Default 100 (as undici).
   */
  maxConcurrentStreams?: number;
  /** How long after the last PING's answer the next PING is sent. Default `'30s'`; `Infinity`: no PINGs. */
  pingInterval?: Duration;
  /**
   * How long a PING may go unanswered before the session is unhealthy: it takes no new
   * stream and closes once its streams are done (OkHttp's degraded connection). Default `'5s'`.
   */
  pingTimeout?: Duration;
  /** Each stream's receive window in bytes (SETTINGS_INITIAL_WINDOW_SIZE). Default 262144 (as undici). */
  initialWindowSize?: number;
  /** The session's receive window in bytes. Default 524288 (as undici). */
  connectionWindowSize?: number;
}

const HTTP2_OPTIONS: ReadonlySet<string> = new Set(['maxConcurrentStreams', 'pingInterval', 'pingTimeout', 'initialWindowSize', 'connectionWindowSize']);
/** The largest window HTTP/2 allows (RFC 9113 6.9.1). */
const MAX_WINDOW = 2 ** 31 - 1;

function windowSize(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 65_535 || value > MAX_WINDOW) {
    throw new InvalidOptionError(option, value, `an integer from 65535 to ${MAX_WINDOW} (bytes)`);
  }
  return value;
}

function http2Settings(options: unknown): Http2SessionSettings {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('http2', options, 'an object of HTTP/2 options');
  }
  const o = options as Record<string, unknown>;
  for (const name of Object.keys(o)) {
    if (!HTTP2_OPTIONS.has(name)) {
      throw new InvalidOptionError(`http2.${name}`, o[name], `one of the HTTP/2 options (${[...HTTP2_OPTIONS].join(', ')}); check the spelling`);
    }
  }
  const streams = o.maxConcurrentStreams;
  if (streams !== undefined && (typeof streams !== 'number' || !Number.isInteger(streams) || streams < 1)) {
    throw new InvalidOptionError('http2.maxConcurrentStreams', streams, 'an integer >= 1');
  }
  return {
    maxConcurrentStreams: (streams as number | undefined) ?? 100,
    pingIntervalMs: o.pingInterval === undefined ? 30_000 : parseDuration('http2.pingInterval', o.pingInterval, true),
    pingTimeoutMs: o.pingTimeout === undefined ? 5_000 : parseDuration('http2.pingTimeout', o.pingTimeout, false),
    initialWindowSize: windowSize('http2.initialWindowSize', o.initialWindowSize, 262_144),
    connectionWindowSize: windowSize('http2.connectionWindowSize', o.connectionWindowSize, 524_288),
  };
}

/** Whether an address offers only HTTP/2 by ALPN (so an HTTP/1.1 connection would be no use). */
function requiresHttp2(address: Address): boolean {
  const offered = address.tls?.ALPNProtocols;
  return offered !== undefined && offered.includes('h2') && !offered.some((protocol) => protocol.startsWith('http/1'));
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'noDelay',
  'tcpKeepAlive',
  'tcpKeepAliveInitialDelay',
  'autoSelectFamily',
  'autoSelectFamilyAttemptTimeout',
  'lookup',
  'balance',
  'proxyTls',
  'http2',
]);

function checkBoolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'true or false');
  return value;
}

function isSecure(protocol: AddressProtocol): boolean {
  return protocol === 'https:' || protocol === 'tls:';
}

/** Where a socket goes: a host and port (with how to reach them), or a Unix socket. */
type Route = net.TcpNetConnectOpts | net.IpcNetConnectOpts;

/** A connection the {@link NetConnector} makes. */
export type NetTransport = SocketTransport | Http2SessionTransport;

/**
 * The default connector: TCP for `http:`/`tcp:` addresses, TLS for `https:`/`tls:` ones,
 * made with Node's `net` and `tls`, each connection a {@link SocketTransport}, or, for an
 * `https:` address whose server chose `h2` by ALPN (the address offered it in
 * `tls.ALPNProtocols`), an {@link Http2SessionTransport}: one HTTP/2 session that carries many
 * leases at once.
 *
 * - Everything the address carries shapes the socket: host, port, `localAddress`, `family`,
 *   `socketPath`, every TLS option (SNI defaults to the host unless it is an IP literal),
 *   and `proxy`: an HTTP CONNECT tunnel through an `http:` or `https:` proxy, with
 *   `Proxy-Authorization: Basic` from the proxy URL's credentials. Plain-text addresses
 *   are tunnelled too, so a proxy must allow CONNECT to their ports.
 * - The pool's signal is honoured until the socket is ready (TCP connected, TLS handshake
 *   done and verified): an abort (the pool's `connectTimeout`, the acquirer's signal, the
 *   pool closing) destroys the socket and rejects with the signal's reason. So it has no
 *   connect timeout of its own: the pool's `connectTimeout` is it.
 * - A failure rejects with a {@link ConnectError} that keeps Node's `code` (`ECONNREFUSED`,
 *   `ENOTFOUND`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...) and names the
 *   redacted address; a proxy that will not tunnel, with a `ProxyTunnelError`.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool({ connector: new NetConnector({ tcpKeepAliveInitialDelay: '10s' }) });
 * const lease = await pool.acquire({ host: 'api.internal', port: 8443, tls: { ca, ALPNProtocols: ['http/1.1'] } });
 * ```
 */
export class NetConnector implements Connector {
  readonly #noDelay: boolean;
  readonly #tcpKeepAlive: boolean;
  readonly #tcpKeepAliveInitialDelayMs: number;
  readonly #autoSelectFamily: boolean;
  readonly #autoSelectFamilyAttemptTimeoutMs: number | undefined;
  readonly #lookup: net.LookupFunction | undefined;
  /** Set for `balance: 'least-connections'`. */
  readonly #balancer: ConnectionBalancer | null;
  readonly #proxyTls: tls.ConnectionOptions;
  readonly #http2: Http2SessionSettings;

  /**
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value.
   */
  constructor(options: NetConnectorOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new InvalidOptionError('options', options, 'an object of NetConnector options');
    }
    for (const name of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(name)) {
        throw new InvalidOptionError(name, (options as Record<string, unknown>)[name], `one of the NetConnector options (${[...KNOWN_OPTIONS].join(', ')}); check the spelling`);
      }
    }
    this.#noDelay = checkBoolean('noDelay', options.noDelay, true);
    this.#tcpKeepAlive = checkBoolean('tcpKeepAlive', options.tcpKeepAlive, true);
    this.#tcpKeepAliveInitialDelayMs =
      options.tcpKeepAliveInitialDelay === undefined ? 30_000 : parseDuration('tcpKeepAliveInitialDelay', options.tcpKeepAliveInitialDelay, false);
    this.#autoSelectFamily = checkBoolean('autoSelectFamily', options.autoSelectFamily, true);
    this.#autoSelectFamilyAttemptTimeoutMs =
      options.autoSelectFamilyAttemptTimeout === undefined
        ? undefined
        : Math.ceil(parseDuration('autoSelectFamilyAttemptTimeout', options.autoSelectFamilyAttemptTimeout, false));
    if (options.lookup !== undefined && typeof options.lookup !== 'function') {
      throw new InvalidOptionError('lookup', options.lookup, 'a function with the signature of dns.lookup');
    }
    this.#lookup = options.lookup;
    const balance: unknown = options.balance === undefined ? 'first' : options.balance;
    if (!BALANCE_MODES.includes(balance as BalanceMode)) {
      throw new InvalidOptionError('balance', options.balance, `one of ${BALANCE_MODES.map((mode) => `'${mode}'`).join(', ')}`);
    }
    this.#balancer = balance === 'least-connections' ? new ConnectionBalancer(options.lookup) : null;
    checkTlsOptions('proxyTls', options.proxyTls);
    this.#proxyTls = options.proxyTls ?? {};
    this.#http2 = http2Settings(options.http2);
  }

  /**
   * Connects to `address`. Resolves once the socket is ready for bytes (for TLS: after the
   * handshake, with the server's certificate verified unless `rejectUnauthorized: false`).
   *
   * An HTTP/2 connection resolves once the server's first SETTINGS has arrived.
   *
   * @throws (rejects) {@link ConnectError} with Node's code (`ERR_HTTP2_NOT_NEGOTIATED` when
   * the address offered only `h2` and the server did not take it), {@link ProxyTunnelError},
   * or the signal's reason when it is aborted.
   */
  connect(address: Address, context: ConnectContext): Promise<NetTransport> {
    const { signal } = context;
    const target = String(address);
    if (address.proxy !== undefined) return this.#connectViaProxy(address, address.proxy, context, target);
    const route = this.#routeTo(address);
    const balanced = this.#balance(address, route, context);
    if (!isSecure(address.protocol)) {
      return establish(() => balanced(net.connect(route)), 'connect', signal, target, (socket) => this.#adopt(socket, address, socket, context));
    }
    return establish(() => balanced(tls.connect(this.#tlsOptions(address, route))), 'secureConnect', signal, target, (socket) =>
      this.#adopt(socket, address, socket, context),
    );
  }

  /**
   * With least-connections balancing and a host name to resolve, puts the balancer's lookup
   * on `route` and returns what makes it watch the socket; otherwise leaves the route as it is.
   */
  #balance(address: Address, route: Route, context: ConnectContext): (socket: net.Socket) => net.Socket {
    const balancer = this.#balancer;
    if (balancer === null || !('host' in route) || route.host === undefined || net.isIP(route.host) !== 0) return (socket) => socket;
    const scheduler = context.scheduler ?? unrefTimerScheduler;
    const connect = balancer.begin(route.host, address.port, () => scheduler.now());
    route.lookup = connect.lookup;
    return (socket) => {
      connect.watch(socket);
      return socket;
    };
  }

  #connectViaProxy(address: Address, proxy: URL, context: ConnectContext, target: string): Promise<NetTransport> {
    const { signal } = context;
    if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
      return Promise.reject(
        new ProxyTunnelError('ERR_PROXY_UNSUPPORTED', target, `proxies with the "${proxy.protocol}" scheme are not supported. Use an http: or https: proxy URL.`),
      );
    }
    if (address.socketPath !== undefined) {
      return Promise.reject(new ProxyTunnelError('ERR_PROXY_UNSUPPORTED', target, 'a proxy cannot be combined with socketPath. Pass one or the other.'));
    }
    const proxyHost = proxy.hostname.startsWith('[') ? proxy.hostname.slice(1, -1) : proxy.hostname;
    const proxyPort = proxy.port !== '' ? Number(proxy.port) : proxy.protocol === 'https:' ? 443 : 80;
    const route = this.#tcpRoute(proxyHost, proxyPort, address);
    const open =
      proxy.protocol === 'https:'
        ? (): net.Socket =>
            tls.connect({
              ...this.#proxyTls,
              ...route,
              ...(net.isIP(proxyHost) === 0 ? { servername: proxyHost } : {}),
              ALPNProtocols: ['http/1.1'],
            })
        : (): net.Socket => net.connect(route);
    return establish(open, proxy.protocol === 'https:' ? 'secureConnect' : 'connect', signal, target, (toProxy) =>
      requestTunnel<NetTransport>(toProxy, address, signal, (tunnel) => {
        if (!isSecure(address.protocol)) return this.#adopt(tunnel, address, tunnel, context);
        // The TLS socket takes the tunnel over and reports its failures; the guard keeps
        // one on the tunnel itself from going unhandled.
        guardSocket(tunnel);
        const secured = establish(
          () => tls.connect({ ...this.#tlsOptions(address, { host: address.host, port: address.port }), socket: tunnel }),
          'secureConnect',
          signal,
          target,
          (socket) => this.#adopt(socket, address, tunnel, context, tunnel),
        );
        return secured.catch((error: unknown) => {
          discardSocket(tunnel);
          throw error;
        });
      }),
    );
  }

  #routeTo(address: Address): Route {
    if (address.socketPath !== undefined) return { path: address.socketPath };
    return this.#tcpRoute(address.host, address.port, address);
  }

  #tcpRoute(host: string, port: number, address: Address): net.TcpNetConnectOpts {
    const route: net.TcpNetConnectOpts = { host, port, autoSelectFamily: this.#autoSelectFamily };
    if (this.#autoSelectFamilyAttemptTimeoutMs !== undefined) route.autoSelectFamilyAttemptTimeout = this.#autoSelectFamilyAttemptTimeoutMs;
    if (address.localAddress !== undefined) route.localAddress = address.localAddress;
    if (address.family !== undefined) route.family = address.family;
    if (this.#lookup !== undefined) route.lookup = this.#lookup;
    return route;
  }

  /** Every TLS input of the address (all of them are in its key), then where to connect. */
  #tlsOptions(address: Address, route: Route): tls.ConnectionOptions {
    const input = address.tls ?? {};
    const options = { ...(input as tls.ConnectionOptions), ...route } as tls.ConnectionOptions;
    // Over a Unix socket or a tunnel, `host` still names the server for certificate checks.
    options.host = address.host;
    // SNI carries host names only: Node warns about (and servers ignore) an IP literal.
    const servername = input.servername ?? (net.isIP(address.host) === 0 ? address.host : undefined);
    if (servername === undefined) delete options.servername;
    else options.servername = servername;
    return options;
  }

  /**
   * Tunes the TCP socket under `socket` and wraps it, in idle mode, as a transport: an HTTP/2
   * session when the server chose `h2` by ALPN, else the socket itself.
   */
  #adopt(socket: net.Socket, address: Address, tcp: net.Socket, context: ConnectContext, tunnel?: net.Socket): NetTransport | Promise<NetTransport> {
    tcp.setNoDelay(this.#noDelay);
    if (this.#tcpKeepAlive) tcp.setKeepAlive(true, this.#tcpKeepAliveInitialDelayMs);
    const negotiated = socket instanceof tls.TLSSocket ? socket.alpnProtocol : false;
    // `tls:` addresses are raw TLS, whatever ALPN says: the caller speaks over the socket.
    if (negotiated === 'h2' && address.protocol === 'https:') {
      return openHttp2Session(
        socket,
        address,
        this.#http2,
        { signal: context.signal, scheduler: context.scheduler ?? unrefTimerScheduler, ...(context.hooks ? { hooks: context.hooks } : {}) },
        tunnel,
      );
    }
    if (address.protocol === 'https:' && requiresHttp2(address)) {
      throw new ConnectError(
        String(address),
        Object.assign(new Error(`the server did not agree to HTTP/2 by ALPN (it chose ${negotiated ? JSON.stringify(negotiated) : 'nothing'})`), {
          code: 'ERR_HTTP2_NOT_NEGOTIATED',
        }),
      );
    }
    return new SocketTransport(socket, address, tunnel);
  }
}

/**
 * Makes the default TCP/TLS connector.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool({ connector: createNetConnector({ noDelay: true }) });
 * ```
 */
export function createNetConnector(options?: NetConnectorOptions): NetConnector {
  return new NetConnector(options);
}
