import { Dispatcher, errors as undiciErrors } from 'undici';
import {
  AddressResolver,
  checkTlsOptions,
  InvalidOptionError,
  parseDuration,
  type AddressOptions,
  type ConnectionPool,
  type Duration,
  type TlsAddressOptions,
} from '../pool/index.js';
import { DispatchExchange, type ExchangeHost, type ExchangeTarget } from './dispatch-exchange.js';
import { prepareDispatch } from './dispatch-request.js';
import type { H1ClientOptions } from './h1-client.js';
import { toLegacyHandler } from './legacy-handler.js';

/** Options of a {@link PoolDispatcher}. */
export interface PoolDispatcherOptions {
  /**
   * Which HTTP versions `https:` origins are offered by ALPN: `'auto'` (the default) offers
   * HTTP/2 and HTTP/1.1 and the server chooses; `'always'` offers HTTP/2 only (a server that
   * does not speak it fails the connect with `ERR_HTTP2_NOT_NEGOTIATED`); `'never'` offers
   * HTTP/1.1 only. `http:` origins always speak HTTP/1.1 (no h2c), and so do upgrades
   * (WebSocket) and CONNECT.
   */
  http2?: 'auto' | 'always' | 'never';
  /**
   * TLS options for every `https:` origin (`ca`, `cert`, `key`, `rejectUnauthorized`, ...).
   * They enter the pool's address key, so connections are shared only between equals.
   */
  tls?: TlsAddressOptions;
  /**
   * How long before the server's `Keep-Alive: timeout=N` an HTTP/1.1 connection is given up,
   * so that it is never reused just as the server drops it (as the PooledAgent). Default `'1s'`.
   */
  keepAliveHintMargin?: Duration;
  /** How long to wait for a response's headers (as undici's). Default `'300s'`; 0 or Infinity: no limit. */
  headersTimeout?: Duration;
  /** How long a response body may stay silent (as undici's). Default `'300s'`; 0 or Infinity: no limit. */
  bodyTimeout?: Duration;
  /** The largest response head, in bytes (HTTP/1.1; as undici's). Default: Node's `http.maxHeaderSize`. */
  maxHeaderSize?: number;
  /** The largest response body, in bytes; -1 for no limit (HTTP/1.1; as undici's). Default -1. */
  maxResponseSize?: number;
  /**
   * Send again, once, on a new connection, a request that failed before any response byte
   * because its connection was stale or refused it (see {@link PoolDispatcher}). Default true.
   */
  retry?: boolean;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'http2',
  'tls',
  'keepAliveHintMargin',
  'headersTimeout',
  'bodyTimeout',
  'maxHeaderSize',
  'maxResponseSize',
  'retry',
]);

/** ALPN offers, by the `http2` option; upgrades and CONNECT always take HTTP/1.1. */
const ALPN: Readonly<Record<'auto' | 'always' | 'never', readonly string[]>> = {
  auto: ['h2', 'http/1.1'],
  always: ['h2'],
  never: ['http/1.1'],
};

/**
 * The pool partition of the dispatcher's connections: an undici Client binds its parser to an
 * HTTP/1.1 connection for good (see `h1ClientFor`), so these are not shared with other
 * clients of the pool (the PooledAgent); the Client's options shape it too.
 */
function partitionOf(options: H1ClientOptions): string {
  return `undici-dispatcher;headersTimeout=${options.headersTimeout};bodyTimeout=${options.bodyTimeout};maxHeaderSize=${options.maxHeaderSize ?? 'default'};maxResponseSize=${options.maxResponseSize}`;
}

function timeout(option: string, value: Duration | undefined): number {
  if (value === undefined) return 300_000;
  if (value === 0) return 0;
  const ms = parseDuration(option, value, true);
  return ms === Infinity ? 0 : Math.ceil(ms);
}

/**
 * A real `undici.Dispatcher` over the pool: `undici.request(url, { dispatcher })`,
 * `fetch(url, { dispatcher })` (undici's), and `setGlobalDispatcher(pool.dispatcher())` use
 * pooled connections, HTTP/1.1 and HTTP/2 alike.
 *
 * - HTTP/1.1 is undici's own codec: each connection gets an undici `Client` bound to its
 *   socket for the socket's life. Keep-alive and eviction are the pool's: undici's keep-alive
 *   timers are set never to fire, and the server's `Keep-Alive: timeout` is honoured
 *   `keepAliveHintMargin` early, as the PooledAgent does.
 * - HTTP/2 (`https:` origins whose server chooses `h2` by ALPN): each request is a stream of
 *   a pooled session, which carries up to the server's MAX_CONCURRENT_STREAMS at once;
 *   concurrent first requests end up on one session (`coalesce`).
 * - Bodies stream both ways with backpressure. An aborted request closes its HTTP/1.1
 *   connection (its state is unknown) or cancels its HTTP/2 stream (the session lives on).
 *
 * **Retries.** A request that fails before any byte of its response is sent again, once, on
 * a new connection (event `retry`), when that is safe:
 * - the request was certainly not processed: the pooled connection had closed before it
 *   was written, or the HTTP/2 server refused the stream (REFUSED_STREAM) or sent GOAWAY
 *   below its id: any method;
 * - the reused connection was reset or closed after the request was written (`ECONNRESET`,
 *   `EPIPE`, "other side closed"): only GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or a request
 *   with an `Idempotency-Key` header;
 * - and in both cases only if its body can be sent again: none, a string or bytes. (`fetch`
 *   sends every body as a stream, so a fetch with a body is never sent again.)
 *
 * An HTTP/1.1 request (with a body that can be sent again) whose connection closed before
 * any byte of it was written, undici not having begun to write it, is sent again on a new
 * connection, whatever its method, up to 3 times without spending that one retry: nothing of
 * it reached the server. When that too runs out it fails with `ConnectionGoneError`
 * (`ERR_CONNECTION_GONE`). `retry: false` turns this off as well.
 *
 * Otherwise a failure on a reused connection rejects with {@link StaleConnectionError}
 * (`ERR_STALE_CONNECTION`), which says so; any other failure is reported as it is.
 *
 * **Lifecycle.** `close()` refuses new requests (`ClientClosedError`) and resolves once the
 * requests in flight have completed; `destroy(err)` aborts them with `err` (default
 * `ClientDestroyedError`). Neither closes the pool, which owns the connections: close it with
 * `pool.close()`. The dispatcher emits none of undici's `connect`/`disconnect` events; the
 * pool's `events$` say what happens to connections.
 *
 * Node's built-in `fetch` (Node 20: undici 6) takes it too, through
 * `setGlobalDispatcher(pool.dispatcher())` from the `undici` package.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool({ maxConnectionsPerAddress: 32 });
 * const dispatcher = pool.dispatcher();
 * const { statusCode, body } = await request('https://api.example.com/orders', { dispatcher });
 * const res = await fetch('https://api.example.com/orders', { dispatcher });
 * setGlobalDispatcher(dispatcher); // every fetch() of the process
 * ```
 */
export class PoolDispatcher extends Dispatcher implements ExchangeHost {
  /** The pool the connections come from. */
  readonly pool: ConnectionPool;
  /** @internal The options of the undici Client bound to each HTTP/1.1 connection (timeouts also apply to HTTP/2). */
  readonly h1Options: H1ClientOptions;
  /** @internal `keepAliveHintMargin`, in ms. */
  readonly keepAliveHintMarginMs: number;
  /** @internal Whether leases say what they are for (the pool reports leaks). */
  readonly describesLeases: boolean;
  readonly #alpn: readonly string[];
  readonly #tls: TlsAddressOptions | undefined;
  readonly #partition: string;
  readonly #retry: boolean;
  readonly #resolver = new AddressResolver();
  /** Addresses by origin (and whether for an upgrade), so that a request costs a map lookup. */
  readonly #addresses = new Map<string, ExchangeTarget>();
  /**
   * Exchanges in flight, for close() and destroy(): a list threaded through the exchanges
   * themselves, since a Set's churn (one add and one delete per request) costs more garbage
   * collection than the rest of the dispatcher.
   */
  #inFlightHead: DispatchExchange | null = null;
  /** The last origin dispatched to, and its address (see #addressFor). */
  #lastOrigin: unknown = undefined;
  #lastHttp1Only = false;
  #lastAddress: ExchangeTarget | null = null;
  #inFlightCount = 0;
  #idleWaiters: Array<() => void> = [];
  #closed = false;
  #destroyed = false;

  /** @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value. */
  constructor(pool: ConnectionPool, options: PoolDispatcherOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new InvalidOptionError('options', options, 'an object of dispatcher options');
    }
    for (const name of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(name)) {
        throw new InvalidOptionError(name, (options as Record<string, unknown>)[name], `one of the dispatcher options (${[...KNOWN_OPTIONS].join(', ')}); check the spelling`);
      }
    }
    const http2 = options.http2 ?? 'auto';
    if (http2 !== 'auto' && http2 !== 'always' && http2 !== 'never') {
      throw new InvalidOptionError('http2', http2, "'auto', 'always' or 'never'");
    }
    checkTlsOptions('tls', options.tls);
    if (options.tls?.ALPNProtocols !== undefined) {
      throw new InvalidOptionError('tls', '[ALPNProtocols]', "no ALPNProtocols: the http2 option ('auto', 'always', 'never') decides them");
    }
    const { maxHeaderSize, maxResponseSize } = options;
    if (maxHeaderSize !== undefined && (typeof maxHeaderSize !== 'number' || !Number.isInteger(maxHeaderSize) || maxHeaderSize < 1)) {
      throw new InvalidOptionError('maxHeaderSize', maxHeaderSize, 'an integer >= 1 (bytes)');
    }
    if (maxResponseSize !== undefined && (typeof maxResponseSize !== 'number' || !Number.isInteger(maxResponseSize) || maxResponseSize < -1)) {
      throw new InvalidOptionError('maxResponseSize', maxResponseSize, 'an integer >= 0 (bytes), or -1 for no limit');
    }
    if (options.retry !== undefined && typeof options.retry !== 'boolean') {
      throw new InvalidOptionError('retry', options.retry, 'true or false');
    }
    this.pool = pool;
    this.describesLeases = pool.options.leakDetectionThresholdMs !== undefined;
    this.#alpn = ALPN[http2];
    this.#tls = options.tls;
    this.#retry = options.retry ?? true;
    this.keepAliveHintMarginMs =
      options.keepAliveHintMargin === undefined ? 1_000 : parseDuration('keepAliveHintMargin', options.keepAliveHintMargin, false);
    this.h1Options = {
      headersTimeout: timeout('headersTimeout', options.headersTimeout),
      bodyTimeout: timeout('bodyTimeout', options.bodyTimeout),
      maxHeaderSize,
      maxResponseSize: maxResponseSize ?? -1,
    };
    this.#partition = partitionOf(this.h1Options);
  }

  /** True once `close()` or `destroy()` was called: it takes no new request. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once `destroy()` was called. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** @internal Whether a failed request may be sent again. */
  get mayRetry(): boolean {
    return this.#retry && !this.#destroyed;
  }

  /**
   * undici's dispatch: leases a connection for the request and reports its progress to
   * `handler` (either of undici's handler interfaces). Never asks the caller to wait for
   * `'drain'`: requests beyond the pool's limits wait in the pool's queue.
   */
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (typeof handler !== 'object' || handler === null) throw new undiciErrors.InvalidArgumentError('handler must be an object');
    const user = toLegacyHandler(handler);
    let exchange: DispatchExchange;
    try {
      if (typeof options !== 'object' || options === null) throw new undiciErrors.InvalidArgumentError('opts must be an object.');
      if (this.#destroyed) throw new undiciErrors.ClientDestroyedError();
      if (this.#closed) throw new undiciErrors.ClientClosedError();
      const upgrade = options.upgrade !== undefined && options.upgrade !== null && options.upgrade !== false;
      const address = this.#addressFor(options.origin, upgrade || options.method === 'CONNECT');
      // Everything undici's Client would refuse is refused here, before a connection is
      // leased for it; and the request is copied as it is now.
      const request = prepareDispatch(options, handler);
      exchange = new DispatchExchange(this, request, user, address);
    } catch (error) {
      if (user.onError === undefined) throw error;
      user.onError(error as Error);
      return false;
    }
    this.#track(exchange);
    exchange.start();
    return true;
  }

  /**
   * Takes no new request, and resolves once those in flight have completed (the callback is
   * called with `(null, null)`, as undici's). After `destroy()` it rejects (the callback gets)
   * `ClientDestroyedError`. The pool stays open.
   *
   * @throws InvalidArgumentError when `callback` is given and is not a function.
   */
  override close(): Promise<void>;
  override close(callback: (error: Error | null, data: null) => void): void;
  override close(callback?: (error: Error | null, data: null) => void): Promise<void> | void {
    if (callback !== undefined && typeof callback !== 'function') throw new undiciErrors.InvalidArgumentError('invalid callback');
    const closing = this.#destroyed ? Promise.reject(new undiciErrors.ClientDestroyedError()) : this.#whenIdle();
    this.#closed = true;
    if (callback === undefined) return closing;
    closing.then(
      () => callback(null, null),
      (error: Error) => callback(error, null),
    );
  }

  /**
   * Takes no new request, aborts those in flight with `error` (default `ClientDestroyedError`)
   * and resolves once they have ended (the callback is called with `(null, null)`). The pool
   * stays open.
   *
   * @throws InvalidArgumentError when `callback` is given and is not a function.
   */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: (error: Error | null, data: null) => void): void;
  override destroy(error: Error | null, callback: (error: Error | null, data: null) => void): void;
  override destroy(
    errorOrCallback?: Error | null | ((error: Error | null, data: null) => void),
    callback?: (error: Error | null, data: null) => void,
  ): Promise<void> | void {
    const done = typeof errorOrCallback === 'function' ? errorOrCallback : callback;
    if (done !== undefined && typeof done !== 'function') throw new undiciErrors.InvalidArgumentError('invalid callback');
    const error = typeof errorOrCallback === 'function' || errorOrCallback === null || errorOrCallback === undefined ? new undiciErrors.ClientDestroyedError() : errorOrCallback;
    this.#closed = true;
    this.#destroyed = true;
    const inFlight: DispatchExchange[] = [];
    for (let exchange = this.#inFlightHead; exchange !== null; exchange = exchange.inFlightNext) inFlight.push(exchange);
    for (const exchange of inFlight) exchange.abort(error);
    const ended = this.#whenIdle();
    if (done === undefined) return ended;
    ended.then(() => done(null, null));
  }

  /** @internal Called by each exchange once, when it has ended. */
  exchangeDone(exchange: DispatchExchange): void {
    if (!this.#untrack(exchange) || this.#inFlightCount > 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #track(exchange: DispatchExchange): void {
    exchange.inFlightNext = this.#inFlightHead;
    if (this.#inFlightHead !== null) this.#inFlightHead.inFlightPrev = exchange;
    this.#inFlightHead = exchange;
    this.#inFlightCount++;
  }

  /** Takes `exchange` off the list; false if it was not on it. */
  #untrack(exchange: DispatchExchange): boolean {
    if (exchange.inFlightPrev === null && this.#inFlightHead !== exchange) return false;
    if (exchange.inFlightPrev !== null) exchange.inFlightPrev.inFlightNext = exchange.inFlightNext;
    else this.#inFlightHead = exchange.inFlightNext;
    if (exchange.inFlightNext !== null) exchange.inFlightNext.inFlightPrev = exchange.inFlightPrev;
    exchange.inFlightPrev = exchange.inFlightNext = null;
    this.#inFlightCount--;
    return true;
  }

  #whenIdle(): Promise<void> {
    if (this.#inFlightCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #addressFor(origin: unknown, http1Only: boolean): ExchangeTarget {
    // Most dispatchers talk to one origin: the last one is compared, not hashed.
    if (origin === this.#lastOrigin && http1Only === this.#lastHttp1Only && this.#lastAddress !== null) return this.#lastAddress;
    const address = this.#lookUpAddress(origin, http1Only);
    this.#lastOrigin = origin;
    this.#lastHttp1Only = http1Only;
    this.#lastAddress = address;
    return address;
  }

  #lookUpAddress(origin: unknown, http1Only: boolean): ExchangeTarget {
    const text = typeof origin === 'string' ? origin : origin instanceof URL ? origin.origin : undefined;
    if (text === undefined || text === '') throw new undiciErrors.InvalidArgumentError('opts.origin must be a non-empty string or URL.');
    const key = http1Only ? `${text} h1` : text;
    let address = this.#addresses.get(key);
    if (address === undefined) {
      const options = this.#addressOptions(text, http1Only);
      address = options.port === 0 ? { portZeroOf: options.host } : this.#resolver.resolve(options);
      // A simple bound: a process that talks to a wild set of origins cannot grow this forever.
      if (this.#addresses.size >= 1_024) this.#addresses.clear();
      this.#addresses.set(key, address);
    }
    return address;
  }

  #addressOptions(origin: string, http1Only: boolean): AddressOptions {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new undiciErrors.InvalidArgumentError('invalid origin: not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new undiciErrors.InvalidArgumentError(`invalid origin protocol ${JSON.stringify(url.protocol)}: the dispatcher serves http: and https: origins`);
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    if (url.protocol === 'http:') return { protocol: 'http:', host, port, partition: this.#partition };
    return {
      protocol: 'https:',
      host,
      port,
      tls: { ...this.#tls, ALPNProtocols: http1Only ? ['http/1.1'] : [...this.#alpn] },
      partition: this.#partition,
    };
  }
}
