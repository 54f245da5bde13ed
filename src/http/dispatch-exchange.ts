import type { Duplex } from 'node:stream';
import { errors as undiciErrors } from 'undici';
import type { Address, ConnectionPool, Lease } from '../pool/index.js';
import { Http2SessionTransport, SocketTransport } from '../transport/index.js';
import { connectToPortZero } from './connect-failure.js';
import type { DispatchRequest } from './dispatch-request.js';
import { ConnectionGoneError, StaleConnectionError, UnsupportedTransportError } from './errors.js';
import { h1ClientFor, type H1ClientOptions } from './h1-client.js';
import { H1ConnectionState } from './h1-connection-state.js';
import { sendOverHttp2 } from './h2-request.js';
import type { LegacyHandler } from './legacy-handler.js';
import { classifyFailure, decideRetry, isReplayableBody, type FailureVerdict } from './retry-policy.js';

/** What an exchange needs from its dispatcher. */
export interface ExchangeHost {
  readonly pool: ConnectionPool;
  readonly h1Options: H1ClientOptions;
  /** How long before a server's Keep-Alive timeout its connection is given up (ms). */
  readonly keepAliveHintMarginMs: number;
  /** Whether leases say what they are for: the pool reports leaks (leakDetectionThreshold). */
  readonly describesLeases: boolean;
  /** False when the dispatcher was destroyed: nothing is sent again. */
  readonly mayRetry: boolean;
  exchangeDone(exchange: DispatchExchange): void;
}

/**
 * Where a request goes: a pooled address, or port 0 of a host, which the pool refuses and the
 * operating system is asked about (see `connectToPortZero`).
 */
export type ExchangeTarget = Address | { readonly portZeroOf: string };

type Phase = 'acquiring' | 'sending' | 'upgraded' | 'done';

/**
 * How many times a request may be sent again because its HTTP/1.1 connection closed before
 * any byte of it was written, without spending its one retry: nothing reached the server,
 * whatever the method. Bounded, so that a server that accepts connections only to close them
 * at once (one at its connection limit) fails the request rather than spins.
 */
const MAX_UNSENT_RESENDS = 3;

/**
 * One request dispatched over the pool, from the caller's `onConnect` to its `onComplete` or
 * `onError`: leases a connection (HTTP/1.1 through undici's Client bound to the socket,
 * HTTP/2 as a stream of the session), gives the lease back when the response has been read,
 * and sends the request again, once, on a new connection when the connection failed before
 * any response byte and the retry policy allows it (see `decideRetry`).
 *
 * It is the handler undici's Client (or the HTTP/2 driver) reports each attempt to; the
 * caller's handler sees one request, whatever the attempts.
 */
export class DispatchExchange implements LegacyHandler {
  /** @internal The dispatcher's list of exchanges in flight (intrusive: no allocation per request). */
  inFlightPrev: DispatchExchange | null = null;
  /** @internal */
  inFlightNext: DispatchExchange | null = null;
  readonly #host: ExchangeHost;
  readonly #request: DispatchRequest;
  readonly #user: LegacyHandler;
  readonly #target: ExchangeTarget;
  #phase: Phase = 'acquiring';
  #lease: Lease | null = null;
  #transport: SocketTransport | Http2SessionTransport | null = null;
  /** The running attempt's abort (undici's, or the HTTP/2 driver's). */
  #attemptAbort: ((reason?: Error) => void) | null = null;
  #abortReason: Error | null = null;
  #responseStarted = false;
  /**
   * The attempt's request began to be written: undici's Client calls `onConnect` just before
   * it writes the request's first byte (HTTP/1.1), the HTTP/2 driver when it opens the stream.
   */
  #attemptWriting = false;
  #retried = false;
  /** Attempts whose HTTP/1.1 connection closed before the request was written (see MAX_UNSENT_RESENDS). */
  #unsentResends = 0;
  /** What the HTTP/1.1 attempt learns of its connection. */
  readonly #h1 = new H1ConnectionState();

  constructor(host: ExchangeHost, request: DispatchRequest, user: LegacyHandler, target: ExchangeTarget) {
    this.#host = host;
    this.#request = request;
    this.#user = user;
    this.#target = target;
  }

  /** Tells the caller it may abort, then leases a connection. */
  start(): void {
    try {
      this.#user.onConnect?.(this.abort);
    } catch (error) {
      this.#fail(toError(error));
      return;
    }
    if (this.#phase !== 'acquiring') return;
    if ('portZeroOf' in this.#target) {
      connectToPortZero(this.#target.portZeroOf).then((error) => guarded(() => this.#fail(error)));
      return;
    }
    this.#acquire(true);
  }

  get #address(): Address {
    return this.#target as Address;
  }

  /**
   * Aborts the request (the caller's abort, or the dispatcher's destroy): while leasing, at
   * once; while sending, through the attempt, which reports the error back.
   */
  readonly abort = (reason?: Error): void => {
    if (this.#phase === 'done' || this.#abortReason !== null) return;
    const error = reason ?? new undiciErrors.RequestAbortedError();
    this.#abortReason = error;
    if (this.#phase === 'acquiring') {
      // The lease, when it comes, goes straight back (see #send).
      this.#fail(error);
      return;
    }
    if (this.#phase === 'upgraded') return;
    this.#attemptAbort?.(error);
  };

  #acquire(reuse: boolean): void {
    if (reuse) {
      // The common case, without a promise: a pooled connection is at hand.
      let lease: Lease | null;
      try {
        lease = this.#host.pool.acquireNow(this.#address);
      } catch (error) {
        this.#fail(toError(error));
        return;
      }
      if (lease !== null) {
        this.#send(lease);
        return;
      }
    }
    // With callbacks rather than a promise: no promise, and no turn of the event loop between
    // the connection coming free and the request being handed to it.
    this.#host.pool.acquireWith(
      this.#address,
      reuse ? COALESCE : COALESCE_FRESH,
      (lease) => guarded(() => this.#send(lease)),
      (error) => guarded(() => {
        if (this.#phase === 'acquiring') this.#fail(error);
      }),
    );
  }

  #send(lease: Lease): void {
    if (this.#phase !== 'acquiring') {
      lease.release();
      return;
    }
    this.#phase = 'sending';
    this.#lease = lease;
    this.#responseStarted = false;
    this.#attemptWriting = false;
    this.#attemptAbort = null;
    // For the pool's leak reports (lease-held-too-long): what the lease is for. Not when
    // nobody asked, since it costs a string per request.
    if (this.#host.describesLeases) {
      lease.describe(`${this.#request.method} ${this.#shownTarget()}: request in flight, or its response body not read to the end (read it, or dump it)`);
    }
    const transport = lease.transport;
    if (transport instanceof Http2SessionTransport) {
      this.#transport = transport;
      sendOverHttp2(transport, this.#request, this, this.#host.h1Options);
    } else if (transport instanceof SocketTransport) {
      this.#transport = transport;
      this.#h1.reset();
      const socket = transport.socket;
      if (socket.destroyed || !socket.writable) {
        // Closed between the pool's health check and now: the request was never sent.
        this.onError(new ConnectionGoneError(String(this.#address)));
        return;
      }
      const client = h1ClientFor(transport, this.#host.h1Options);
      if (client.destroyed || client.closed) {
        // The Client goes with its socket, so this is the same case seen from the Client.
        this.onError(new ConnectionGoneError(String(this.#address)));
        return;
      }
      client.dispatch(this.#request as unknown as Parameters<typeof client.dispatch>[0], this);
    } else {
      this.#transport = null;
      this.onError(
        new UnsupportedTransportError(
          "The pool's dispatcher",
          String(this.#address),
          'it is neither a socket (SocketTransport) nor an HTTP/2 session (Http2SessionTransport); use the default connector, or one that makes these.',
        ),
      );
    }
  }

  // ---- what the attempt reports (undici's Client, or the HTTP/2 driver) --------------------

  onConnect(abort: (reason?: Error) => void): void {
    this.#attemptWriting = true;
    this.#attemptAbort = abort;
    if (this.#abortReason !== null) abort(this.#abortReason);
  }

  onResponseStarted(): void {
    this.#responseStarted = true;
    this.#user.onResponseStarted?.();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    this.#responseStarted = true;
    if (statusCode >= 200 && this.#transport instanceof SocketTransport) this.#h1.readResponseHeaders(rawHeaders, this.#host.keepAliveHintMarginMs);
    return this.#user.onHeaders?.(statusCode, rawHeaders, resume, statusText) !== false;
  }

  onData(chunk: Buffer): boolean {
    return this.#user.onData?.(chunk) !== false;
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    if (this.#phase !== 'sending') return;
    this.#phase = 'done';
    const overHttp2 = this.#transport instanceof Http2SessionTransport;
    this.#giveBack(false);
    try {
      this.#user.onComplete?.(trailers);
    } catch (error) {
      // As undici does with a handler that throws here: it is told, through onError. What
      // that onError throws in turn undici's HTTP/1.1 client swallows and its HTTP/2 client
      // leaves uncaught; so here (on its own turn for HTTP/2, or the stream would take it).
      try {
        this.#user.onError?.(toError(error));
      } catch (thrown) {
        if (overHttp2) guarded(() => {
          throw thrown;
        });
      }
    }
  }

  onError(error: Error): void {
    if (this.#phase !== 'sending') return;
    const lease = this.#lease as Lease;
    // An aborted request reports why it was aborted, whatever its attempt ran into meanwhile.
    if (this.#abortReason !== null) error = this.#abortReason;
    const unsent = this.#abortReason === null && this.#host.mayRetry ? this.#neverWritten(error) : null;
    if (unsent !== null) {
      // Nothing of the request reached the server (its connection closed before it was
      // written): it is sent again, on a new connection, without spending its one retry,
      // which stays for a failure after the request was written.
      const verdict = unsent;
      this.#unsentResends++;
      this.#host.pool.reportRetry(lease, { method: this.#request.method, reason: verdict.reason });
      this.#giveBack(true);
      this.#phase = 'acquiring';
      this.#acquire(false);
      return;
    }
    if (!this.#responseStarted && !this.#retried && this.#abortReason === null && this.#host.mayRetry) {
      const decision = decideRetry({
        error,
        method: this.#request.method,
        headers: this.#request.headers,
        body: this.#request.body,
        reused: lease.reused,
      });
      if (decision.retry) {
        this.#retried = true;
        this.#host.pool.reportRetry(lease, { method: this.#request.method, reason: decision.reason });
        this.#giveBack(true);
        this.#phase = 'acquiring';
        this.#acquire(false);
        return;
      }
      if (decision.stale !== null) {
        error = new StaleConnectionError(this.#request.method, this.#shownTarget(), decision.stale.reason, decision.stale.why, error);
      }
    }
    this.#phase = 'done';
    this.#giveBack(true);
    this.#notifyError(error);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    if (this.#phase !== 'sending') return;
    this.#phase = 'upgraded';
    const lease = this.#lease as Lease;
    // The socket is the caller's now: the connection serves nobody else, and the lease is
    // held (counted) until the caller closes it.
    lease.noNewExchanges();
    this.#lease = null;
    if (socket.destroyed) lease.release();
    else socket.once('close', () => lease.release());
    this.#host.exchangeDone(this);
    this.#user.onUpgrade?.(statusCode, rawHeaders, socket);
  }

  onBodySent(...args: unknown[]): void {
    this.#user.onBodySent?.(...args);
  }

  onRequestSent(): void {
    this.#h1.requestSent = true;
    this.#user.onRequestSent?.();
  }

  /**
   * The retry policy's verdict on `error` when the HTTP/1.1 attempt that failed with it
   * certainly wrote nothing (undici had not begun to write the request: no `onConnect`)
   * because its connection was gone (a failure the policy says left the request unprocessed),
   * and the request may be sent again as it is (its body can be replayed), at most
   * MAX_UNSENT_RESENDS times; else null. Such a request goes again whatever its method. (The
   * pool's health check at hand-over cannot see a FIN or RST still in flight, and undici waits
   * a turn of the event loop before writing on a reused socket: the connection can close
   * between the two.)
   */
  #neverWritten(error: Error): FailureVerdict | null {
    if (this.#attemptWriting || this.#responseStarted || !(this.#transport instanceof SocketTransport)) return null;
    if (this.#unsentResends >= MAX_UNSENT_RESENDS || !isReplayableBody(this.#request.body)) return null;
    const verdict = classifyFailure(error);
    return verdict?.unprocessed === true ? verdict : null;
  }

  // ---- the end ---------------------------------------------------------------------------

  /** Ends the exchange with `error` before any attempt reported (a bad option, an abort while leasing, a failed acquire). */
  #fail(error: Error): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#host.exchangeDone(this);
    this.#notifyError(error);
  }

  #notifyError(error: Error): void {
    if (this.#user.onError === undefined) throw error;
    this.#user.onError(error);
  }

  /** Gives the attempt's lease back, once the protocol is done with the connection. */
  #giveBack(failed: boolean): void {
    const lease = this.#lease;
    const transport = this.#transport;
    this.#lease = null;
    this.#transport = null;
    if (this.#phase === 'done') this.#host.exchangeDone(this);
    if (lease === null) return;
    // An HTTP/2 stream is over when it reports; the session's health is the pool's to check.
    if (transport instanceof SocketTransport) this.#h1.giveBack(lease, transport, failed, this.#request.reset === true);
    else lease.release();
  }

  /** The request's origin and path, without query (nothing secret), for messages. */
  #shownTarget(): string {
    const { protocol, host, port } = this.#address;
    const path = this.#request.path.split(/[?#]/, 1)[0] ?? '';
    return `${protocol}//${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  }
}

const COALESCE = { coalesce: true } as const;
const COALESCE_FRESH = { coalesce: true, reuse: false } as const;

/**
 * Runs a callback of `pool.acquireWith`, which must not throw into the pool's bookkeeping: a
 * throw (only a caller's handler can, from its onError) is reported as uncaught, on its own
 * turn, as it would have been from a promise callback.
 */
function guarded(run: () => void): void {
  try {
    run();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
