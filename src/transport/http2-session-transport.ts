import * as http2 from 'node:http2';
import type { Socket } from 'node:net';
import { inspect } from 'node:util';
import type { SchedulerLike } from 'rxjs';
import type { Address, ConnectionHooks, Transport } from '../pool/index.js';
import { PingProbe } from './ping-probe.js';
import { discardSocket } from './socket-state.js';

/** How HTTP/2 sessions are run (see `NetConnectorOptions.http2`), durations in ms. */
export interface Http2SessionSettings {
  /** The most streams one session carries at once, whatever the peer allows. */
  readonly maxConcurrentStreams: number;
  /** How long after the last PING's answer the next one is sent (Infinity: never). */
  readonly pingIntervalMs: number;
  /** How long a PING may go unanswered before the session is unhealthy. */
  readonly pingTimeoutMs: number;
  /** Each stream's receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly initialWindowSize: number;
  /** The whole session's receive window. */
  readonly connectionWindowSize: number;
}

/** How long {@link Http2SessionTransport.checkLiveness}'s PING may wait at most for its ACK (OkHttp's too). */
export const DEGRADED_PING_TIMEOUT_MS = 1_000;

/**
 * The stream id from which a session takes no new stream (OkHttp's `Int.MAX_VALUE / 2`): it
 * is retired half-way through the 2^31 ids, leaving plenty for the streams in flight, rather
 * than at the very end, where Node fails each new stream with `ERR_HTTP2_OUT_OF_STREAMS`.
 * At 20k requests a second a busy session gets there in about 15 hours.
 */
export const STREAM_ID_RETIREMENT = 2 ** 30;

/** Why an {@link Http2SessionTransport} takes no new stream. */
export type Http2UnfitReason =
  /** The session was closed or destroyed (by us, by the peer, by an error). */
  | 'closed'
  /** The peer sent GOAWAY: streams in flight finish, no new one may start. */
  | 'goaway'
  /** A PING went unanswered past its deadline (OkHttp's degraded connection). */
  | 'ping-timeout'
  /** The session used up half its stream ids (see {@link STREAM_ID_RETIREMENT}), or all of them. */
  | 'out-of-streams';

/**
 * One HTTP/2 session (`node:http2`) as one pooled connection that carries many leases at
 * once: its `allocationLimit` is the peer's SETTINGS_MAX_CONCURRENT_STREAMS (at most
 * `maxConcurrentStreams`), kept up to date as the peer changes it.
 *
 * - A raised limit is reported to the pool (`hooks.capacityChanged()`), so that waiters share
 *   the session at once; a lowered one is obeyed from the next lease.
 * - GOAWAY: the session takes no new stream (`hooks.noNewExchanges()`); streams the peer
 *   accepted finish, the others fail with REFUSED_STREAM (for the layer above to send again).
 * - A PING is sent every `pingIntervalMs`; one left unanswered `pingTimeoutMs` makes the
 *   session unhealthy (`hooks.noNewExchanges('unhealthy')`), on the pool's scheduler. A
 *   stream given up on sends one at once ({@link Http2SessionTransport.checkLiveness}).
 * - An idle session is unref'd, so that an idle pool never keeps the process alive; a
 *   session with a stream in flight is ref'd.
 *
 * Lease holders open streams with {@link Http2SessionTransport.request} (so that the
 * transport counts them) and release their lease when the stream has closed.
 */
export class Http2SessionTransport implements Transport {
  /** The session (never shown by `inspect`: Node keeps the TLS options on its socket). */
  readonly session: http2.ClientHttp2Session;
  /** Where it is connected to (the pool's address: its `toString()` is redacted). */
  readonly address: Address;
  /** The protocol negotiated by ALPN: always `'h2'`. */
  readonly alpnProtocol = 'h2' as const;
  /** The IP address the session's connection reached (of the proxy, for a tunnel), when it was made. */
  readonly remoteAddress: string | undefined;
  readonly #settings: Http2SessionSettings;
  readonly #hooks: ConnectionHooks | undefined;
  readonly #probe: PingProbe;
  /** The socket the session runs over (TLS), destroyed with it. */
  readonly #socket: Socket | null;
  /** The proxy connection under that socket, if any, destroyed with it. */
  readonly #tunnel: Socket | null;
  #unfit: Http2UnfitReason | null = null;
  #error: Error | null = null;
  #active = 0;
  #limit: number;
  #goawayLastStreamId: number | null = null;

  /**
   * Takes over a session, in idle mode. {@link openHttp2Session} makes them; there is no need
   * to make one by hand except for a custom connector.
   *
   * @param sockets - the socket the session was made on (`createConnection`), and the proxy
   * connection under it if any: both are destroyed when the transport closes.
   */
  constructor(
    session: http2.ClientHttp2Session,
    address: Address,
    settings: Http2SessionSettings,
    context: { readonly hooks?: ConnectionHooks; readonly scheduler: SchedulerLike },
    sockets: { readonly socket?: Socket; readonly tunnel?: Socket } = {},
  ) {
    this.session = session;
    this.address = address;
    this.#settings = settings;
    this.#hooks = context.hooks;
    this.#socket = sockets.socket ?? null;
    this.#tunnel = sockets.tunnel ?? null;
    this.remoteAddress = (sockets.tunnel ?? sockets.socket)?.remoteAddress;
    this.#limit = this.#peerLimit();
    session.on('error', (error: Error) => {
      this.#error ??= error;
    });
    session.on('remoteSettings', () => this.#onRemoteSettings());
    session.on('goaway', (_code: number, lastStreamId: number) => {
      this.#goawayLastStreamId = lastStreamId;
      this.#markUnfit('goaway', 'no-new-exchanges');
    });
    this.#probe = new PingProbe(
      context.scheduler,
      settings.pingIntervalMs,
      settings.pingTimeoutMs,
      (answered) => this.#ping(answered),
      () => this.#markUnfit('ping-timeout', 'unhealthy'),
    );
    session.once('close', () => {
      this.#unfit ??= 'closed';
      this.#probe.stop();
    });
    // With an infinite interval the probe sends no PING by itself, only checkLiveness()'s.
    this.#probe.start();
    session.unref();
  }

  /** How many streams may be open at once: the peer's limit, at most `maxConcurrentStreams`. */
  get allocationLimit(): number {
    return this.#limit;
  }

  /** Streams open now (made with {@link Http2SessionTransport.request}). */
  get activeStreams(): number {
    return this.#active;
  }

  /** Why the session takes no new stream, or null while it does. */
  get unfitReason(): Http2UnfitReason | null {
    if (this.#unfit === null && (this.session.closed || this.session.destroyed)) this.#unfit = 'closed';
    return this.#unfit;
  }

  /**
   * The last stream id the peer's GOAWAY said it processed (or might still process), or null
   * before any GOAWAY. A stream with a higher id (or none yet) was not processed: it is safe
   * to send again, whatever its method (RFC 9113 6.8).
   */
  get goawayLastStreamId(): number | null {
    return this.#goawayLastStreamId;
  }

  /** The session's first error, if it had one. */
  get error(): Error | null {
    return this.#error;
  }

  /** PINGs sent and answered in time so far. */
  get pings(): { readonly sent: number; readonly answered: number } {
    return this.#probe.counts;
  }

  /**
   * Doubts the session: sends a PING now and marks the session unhealthy if no ACK comes
   * within `pingTimeout`, at most {@link DEGRADED_PING_TIMEOUT_MS}; unless a PING is out
   * already, or one was answered less than that long ago (so a storm of aborts sends at most
   * one PING a second: gRPC servers answer PINGs sent too often with GOAWAY). Request code
   * calls it when a stream is given up on (aborted, or timed out) before its response was
   * complete. That is how a session whose path went silent shows first (a dropped NAT
   * mapping, a dead peer that sent no RST): its streams wait, and without this the next
   * regular PING could be `pingInterval` away, with every new stream sent into the silence.
   * OkHttp does the same ("degraded ping" on a stream's read timeout, 1 s for its ACK).
   */
  checkLiveness(): void {
    if (this.#unfit !== null || this.session.destroyed || this.session.closed) return;
    this.#probe.checkNow(DEGRADED_PING_TIMEOUT_MS, DEGRADED_PING_TIMEOUT_MS);
  }

  /**
   * Opens a stream, counted until it closes (the session is ref'd while any is open). The
   * stream whose id reaches {@link STREAM_ID_RETIREMENT} retires the session: it takes no new
   * stream after that one.
   *
   * @throws Node's error when the session cannot take it (Node 20: `ERR_HTTP2_GOAWAY_SESSION`,
   * `ERR_HTTP2_INVALID_SESSION`, ...): the stream was never sent. (Node 24 reports these, and
   * every Node running out of stream ids, as the stream's `'error'` instead, the stream
   * without an id.)
   */
  request(headers: http2.OutgoingHttpHeaders, options?: http2.ClientSessionRequestOptions): http2.ClientHttp2Stream {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.request(headers, options);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_HTTP2_OUT_OF_STREAMS') this.#markUnfit('out-of-streams', 'no-new-exchanges');
      throw error;
    }
    // A connected session numbers the stream at once (one still connecting, when it connects).
    if (stream.id !== undefined && stream.id >= STREAM_ID_RETIREMENT) this.#markUnfit('out-of-streams', 'no-new-exchanges');
    if (this.#active++ === 0) this.session.ref();
    stream.once('close', () => {
      if (--this.#active === 0 && !this.session.destroyed) this.session.unref();
    });
    return stream;
  }

  /** False once the session takes no new stream: closed, GOAWAY received, PING unanswered, out of stream ids. */
  isHealthy(): boolean {
    return this.unfitReason === null;
  }

  /**
   * Closes the session at once: a GOAWAY (NO_ERROR) is sent, then the socket is ended and
   * destroyed; streams still open are cancelled (the pool only closes a session with streams
   * when its drain timeout has run out). Idempotent.
   *
   * Never `session.close()`: Node's graceful close ends the socket and then waits for the
   * peer's FIN before it lets go of the socket, and a peer gone silent (a blackholed path)
   * never sends one, so the socket would stay open for good.
   *
   * Nor `session.destroy()` alone: Node ends and destroys the socket only once the session's
   * last write has completed, and a session destroyed while a write was under way on a
   * connection that died under it was seen (in the chaos soak) never to finish: no 'close',
   * and the socket open for good. So the socket is destroyed here too, a turn of the event
   * loop later, which lets the GOAWAY go out first.
   */
  close(): void {
    this.#probe.stop();
    if (!this.session.destroyed) this.session.destroy();
    const socket = this.#socket;
    if (socket !== null && !socket.destroyed) {
      setImmediate(() => {
        if (!socket.destroyed) discardSocket(socket);
      });
    }
    if (this.#tunnel !== null) discardSocket(this.#tunnel);
  }

  /**
   * `'close'`: the session closed, whoever closed it. The pool listens to evict it. A listener
   * added after the session closed is called on the next microtask.
   */
  on(event: 'close', listener: () => void): this {
    if (event !== 'close') return this;
    if (this.session.destroyed) queueMicrotask(listener);
    else this.session.on('close', listener);
    return this;
  }

  /** Removes a listener added with {@link Http2SessionTransport.on}. */
  off(event: 'close', listener: () => void): this {
    if (event === 'close') this.session.off('close', listener);
    return this;
  }

  /** What `console.log` and `util.inspect` show: the state, never the session or its socket. */
  [inspect.custom](): string {
    const unfit = this.unfitReason;
    return `Http2SessionTransport<${String(this.address)} streams: ${this.#active}/${this.#limit}${unfit === null ? '' : ` unfit: ${unfit}`}>`;
  }

  #peerLimit(): number {
    const peer = this.session.remoteSettings?.maxConcurrentStreams;
    // Before the peer's first SETTINGS, HTTP/2 allows unlimited streams; nobody should count on it.
    const allowed = typeof peer === 'number' ? peer : this.#settings.maxConcurrentStreams;
    return Math.max(1, Math.min(allowed, this.#settings.maxConcurrentStreams));
  }

  #onRemoteSettings(): void {
    const before = this.#limit;
    this.#limit = this.#peerLimit();
    if (this.#limit > before && this.#unfit === null) this.#hooks?.capacityChanged();
  }

  #markUnfit(reason: Http2UnfitReason, hook: 'no-new-exchanges' | 'unhealthy'): void {
    if (this.#unfit !== null) return;
    this.#unfit = reason;
    if (reason !== 'ping-timeout') this.#probe.stop();
    this.#hooks?.noNewExchanges(hook);
  }

  #ping(answered: (ok: boolean) => void): boolean {
    const session = this.session;
    if (session.destroyed || session.closed) return false;
    return session.ping((error) => answered(error === null));
  }
}
