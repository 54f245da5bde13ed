import type { OutgoingHttpHeaders } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Dispatcher } from 'undici';
import type { ConnectionPool, PoolDispatcher } from '../../http/index.js';
import { ExchangeTimers, type ExchangeTimer } from './exchange-timer.js';
import { onRequestBodyCut } from './request-body.js';
import type { UpstreamClient, UpstreamReceiver, UpstreamRequest, UpstreamResponse } from './upstream-client.js';
import { finalAnswerProblem, interimAnswerProblem, upstreamProtocolError } from './upstream-answer.js';
import { toUpstreamError, UpstreamError, upstreamTimeout } from './upstream.errors.js';
import type { UpstreamTarget } from './upstream-target.js';

/** Options of {@link DispatcherUpstreamClient}. */
export interface DispatcherUpstreamClientOptions {
  /**
   * How long the upstream may take to send its response headers (a connection slot, the
   * connect and the request included), and how long its body may stay silent. `Infinity`: no limit.
   */
  readonly timeoutMs: number;
  /**
   * Which versions an https: upstream is offered by ALPN (the dispatcher's `http2` option):
   * `'auto'` h2 and HTTP/1.1, `'always'` h2 only, `'never'` HTTP/1.1 only. http: is HTTP/1.1.
   */
  readonly http2: 'auto' | 'always' | 'never';
  /** The clock and timers; default the pool's scheduler, so that tests can use virtual time. */
  readonly scheduler?: SchedulerLike;
}

/** Which request a `connection-acquired` event belongs to (see {@link DispatcherUpstreamClient}). */
interface AcquireProbe {
  reused: boolean | undefined;
  /** The connection it was given, to close if its answer cannot be forwarded. */
  connectionId: string | undefined;
}

const H2 = 'h2';
const HTTP1 = 'http/1.1';

/**
 * HTTP/2 and HTTP/1.1 to the upstream over the pool's undici `Dispatcher`
 * (`pool.dispatcher({ http2, tls })`): for an https: upstream the server chooses h2 or
 * HTTP/1.1 by ALPN (as `http2` allows); each h2 request is a stream of a pooled session,
 * each HTTP/1.1 request leases a pooled connection.
 *
 * - Bodies stream both ways with backpressure. The client's request body goes through a
 *   PassThrough, so that a failing upstream never destroys the client's request (the proxy
 *   must still answer 502 or 504 on its socket).
 * - Timeouts (`timeoutMs`) run on the pool's scheduler, as `Http1UpstreamClient`'s: no
 *   answer in time is a 504, a stalled body is cut. The dispatcher's own `headersTimeout` /
 *   `bodyTimeout` are set to the same value as a backstop (they run on real timers).
 * - Retries of requests that failed on a stale connection are the dispatcher's (idempotent
 *   methods, or bodies it can replay; a streamed body is never sent twice).
 *
 * **`protocol`** of a response: `'http/1.1'` for an http: upstream or `http2: 'never'`, `'h2'`
 * with `'always'`. With `'auto'` it is read from the response: the dispatcher's HTTP/2 driver
 * reports an empty status text (h2 has no reason phrase), its HTTP/1.1 codec the reason
 * phrase of the status line. An HTTP/1.1 upstream that sends an empty reason phrase would be
 * reported as h2: approximate in that case only.
 *
 * **`reusedConnection`** comes from the pool's `connection-acquired` event (`reused`). When a
 * connection (or an h2 session with a free stream) is available, the pool hands it out
 * synchronously within `dispatch()`, and the event is attributed exactly. A request that had
 * to wait (a connect, or a busy connection) is given the next asynchronous event, first come
 * first served: approximate under concurrency, and a dispatcher retry is not accounted for.
 * For h2, `reused` is false only for the request whose connect made the session.
 */
export class DispatcherUpstreamClient implements UpstreamClient {
  readonly #target: UpstreamTarget;
  readonly #dispatcher: PoolDispatcher;
  readonly #timeoutMs: number;
  readonly #timers: ExchangeTimers;
  readonly #mode: 'auto' | 'always' | 'never';
  readonly #events: Subscription;
  readonly #pool: ConnectionPool;
  /** The request being dispatched right now (synchronous attribution). */
  #dispatching: AcquireProbe | null = null;
  /** Requests dispatched without a connection at hand, oldest first. */
  readonly #waiting: AcquireProbe[] = [];
  #lastProtocol: string | undefined;

  constructor(pool: ConnectionPool, target: UpstreamTarget, options: DispatcherUpstreamClientOptions) {
    this.#target = target;
    this.#pool = pool;
    this.#timeoutMs = options.timeoutMs;
    this.#timers = new ExchangeTimers(options.scheduler ?? pool.options.scheduler, this.#timeoutMs);
    this.#mode = target.protocol === 'http:' ? 'never' : options.http2;
    // The backstop timeouts: 0 is undici's "no limit".
    const limit = Number.isFinite(options.timeoutMs) ? Math.max(1, Math.ceil(options.timeoutMs)) : 0;
    this.#dispatcher = pool.dispatcher({
      http2: options.http2,
      headersTimeout: limit,
      bodyTimeout: limit,
      ...(target.ca === undefined ? {} : { tls: { ca: target.ca } }),
    });
    this.#events = pool.events$.subscribe((event) => {
      if (event.type !== 'connection-acquired') return;
      const probe = this.#dispatching ?? this.#waiting.shift();
      if (probe !== undefined && probe.reused === undefined) {
        probe.reused = event.reused;
        probe.connectionId = event.connectionId;
      }
    });
  }

  /**
   * The protocol it speaks: fixed by the target and `http2`, but with `'auto'` the one the
   * upstream chose last (`'h2, http/1.1'` before the first answer).
   */
  get protocol(): string {
    if (this.#mode === 'never') return HTTP1;
    if (this.#mode === 'always') return H2;
    return this.#lastProtocol ?? `${H2}, ${HTTP1}`;
  }

  /** Stops listening to the pool's events (the pool's close ends them anyway). */
  onModuleDestroy(): void {
    this.#events.unsubscribe();
  }

  /** @throws UpstreamError (502, 503, 504); or any error once `request.clientAbort` has aborted. */
  /** {@link UpstreamClient.send}: {@link request}'s outcome, told to `receiver`. */
  send(request: UpstreamRequest, receiver: UpstreamReceiver): void {
    this.request(request).then(
      (response) => receiver.answered(response),
      (error: unknown) => receiver.failed(error),
    );
  }

  /** @throws UpstreamError (502, 503, 504); or any error once `request.clientAbort` has aborted. */
  async request(request: UpstreamRequest): Promise<UpstreamResponse & { readonly body: Readable }> {
    const name = this.#target.toString();
    if (request.clientAbort.aborted) throw new Error('The client went away before the request was sent.');

    // One signal for both reasons to abandon the request: the client left, or no answer in time.
    const abort = new AbortController();
    request.clientAbort.onAbort(() => abort.abort(new Error('The client went away.')));
    const timer = this.#timers.start();
    timer.onAnswerLate(() => abort.abort(upstreamTimeout(name, this.#timeoutMs, 'answer')));

    const body = request.body === null ? null : shield(request.body);
    const probe: AcquireProbe = { reused: undefined, connectionId: undefined };
    let interim = 0;
    // Interim answers: 100 and 103 are read and not passed on; any other ends the exchange
    // (aborting it closes an HTTP/1.1 connection, or cancels the h2 stream).
    const onInfo = ({ statusCode }: { statusCode: number }): void => {
      const problem = interimAnswerProblem(statusCode, ++interim);
      if (problem !== null && !abort.signal.aborted) abort.abort(upstreamProtocolError(name, problem));
    };
    let pending: Promise<Dispatcher.ResponseData>;
    this.#dispatching = probe;
    try {
      pending = this.#dispatcher.request({
        origin: this.#target.origin,
        path: this.#target.pathFor(request.path),
        method: request.method as Dispatcher.HttpMethod,
        headers: dispatcherHeaders(request.headers),
        body,
        signal: abort.signal,
        onInfo,
      });
    } finally {
      this.#dispatching = null;
    }
    if (probe.reused === undefined) this.#waiting.push(probe);

    let data: Dispatcher.ResponseData;
    try {
      data = await pending;
    } catch (error) {
      timer.stop();
      body?.destroy();
      // Timed out (an UpstreamError), or the client left (nobody to answer): the reason as it is.
      if (abort.signal.aborted) throw abort.signal.reason;
      throw mapFailure(error, name, this.#timeoutMs);
    } finally {
      request.clientAbort.onAbort(null);
      const index = this.#waiting.indexOf(probe);
      if (index >= 0) this.#waiting.splice(index, 1);
    }

    const problem = finalAnswerProblem(data.statusCode, data.statusText);
    if (problem !== null) {
      // Its connection is not trusted with another exchange: unread, the body takes an
      // HTTP/1.1 connection with it; one already read to its end is evicted from the pool.
      // undici's body fails with an AbortError when destroyed unread: nobody reads it, so
      // the error is expected and must not surface as an uncaught exception.
      timer.stop();
      data.body.on('error', ignoreAbandonedBodyError);
      data.body.destroy();
      if (probe.connectionId !== undefined) this.#pool.evict(probe.connectionId);
      throw upstreamProtocolError(name, problem);
    }
    const protocol = this.#protocolOf(data.statusText);
    this.#lastProtocol = protocol;
    return {
      statusCode: data.statusCode,
      statusMessage: data.statusText === '' ? undefined : data.statusText,
      headers: data.headers,
      body: this.#watchBody(data.body, timer),
      protocol,
      reusedConnection: probe.reused ?? false,
    };
  }

  #protocolOf(statusText: string | undefined): string {
    if (this.#mode === 'never') return HTTP1;
    if (this.#mode === 'always') return H2;
    return statusText === undefined || statusText === '' ? H2 : HTTP1;
  }

  /**
   * The response body as the proxy reads it: undici's own, watched for stalls (`timer`: it
   * fails with a 504 `UpstreamError`), failing with undici's error if the upstream drops it.
   * A consumer that destroys it (the client left) cancels its h2 stream or closes its
   * HTTP/1.1 connection; it then fails with undici's `AbortError`, which the consumer listens for.
   */
  #watchBody(body: Readable, timer: ExchangeTimer): Readable {
    const name = this.#target.toString();
    timer.answered(body, () => upstreamTimeout(name, this.#timeoutMs, 'body'));
    return body;
  }
}

/**
 * The client's request body behind a PassThrough: undici destroys the body it was given when
 * the request fails, and the client's request must live on for the 502/504 answer. What the
 * client still sends after that is read and dropped.
 */
function shield(source: Readable): PassThrough {
  const shielded = new PassThrough();
  source.pipe(shielded);
  // Cut short (even before this was called): the upstream stream is reset, never ended.
  onRequestBodyCut(source, (error) => shielded.destroy(error));
  shielded.once('close', () => {
    source.unpipe(shielded);
    if (!source.readableEnded) source.resume();
  });
  return shielded;
}

/**
 * The headers as undici takes them: strings, and no `transfer-encoding` (undici refuses it;
 * it chunks a body of unknown length on HTTP/1.1 itself, and HTTP/2 has no such header).
 */
function dispatcherHeaders(headers: OutgoingHttpHeaders): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.toLowerCase() === 'transfer-encoding') continue;
    result[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return result;
}

/** What undici says when the upstream's bytes are not HTTP/1.1 it can read, as the problem to report. */
function undiciProtocolProblem(error: unknown): string | null {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'HTTPParserError') return `it does not parse as HTTP/1.1${typeof code === 'string' ? ` (${code})` : ''}`;
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'its body does not match its Content-Length';
  // undici's names for a 101 nobody asked for and an unsolicited 100 Continue.
  if (code === 'UND_ERR_SOCKET' && message === 'bad upgrade') return interimAnswerProblem(101, 1);
  if (code === 'UND_ERR_SOCKET' && message === 'bad response') return 'it sent an interim response the request did not ask for';
  return null;
}

/** A failure before the response headers, as an `UpstreamError`. */
function mapFailure(error: unknown, target: string, timeoutMs: number): UpstreamError {
  if ((error as { code?: unknown } | null)?.code === 'UND_ERR_HEADERS_TIMEOUT') return upstreamTimeout(target, timeoutMs, 'answer');
  const problem = undiciProtocolProblem(error);
  if (problem !== null) return upstreamProtocolError(target, problem, { cause: error });
  return toUpstreamError(error, target);
}

/** The error of a response body this side abandoned on purpose (see its callers). */
function ignoreAbandonedBodyError(): void {}
