import * as http from 'node:http';
import * as https from 'node:https';
import type { SchedulerLike } from 'rxjs';
import type { ConnectionPool, PooledAgent } from '../../http/index.js';
import { ExchangeTimers, type ExchangeTimer } from './exchange-timer.js';
import { onRequestBodyCut } from './request-body.js';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from './upstream-client.js';
import { UpstreamError } from './upstream.errors.js';
import { finalAnswerProblem, interimAnswerProblem, upstreamProtocolError } from './upstream-answer.js';
import { toUpstreamError, upstreamTimeout } from './upstream.errors.js';
import type { UpstreamTarget } from './upstream-target.js';

/** Options of {@link Http1UpstreamClient}. */
export interface Http1UpstreamClientOptions {
  /**
   * How long the upstream may take to send its response headers (a connection slot, the
   * connect and the request included), and how long its body may stay silent. `Infinity`: no limit.
   */
  readonly timeoutMs: number;
  /** The clock and timers; default the pool's scheduler, so that tests can use virtual time. */
  readonly scheduler?: SchedulerLike;
}

/** Methods that may be sent again after a failure (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Node's codes for a connection that the server closed while it sat idle in the pool. */
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * HTTP/1.1 to the upstream over the pool's `PooledAgent` (`pool.httpAgent()` or
 * `pool.httpsAgent()`): every request leases a pooled connection and gives it back when the
 * response has been read to the end.
 *
 * - Bodies stream both ways with backpressure; nothing is buffered whole.
 * - A request without a body, with an idempotent method, that fails on a reused connection
 *   before any response byte (the upstream closed it while it was idle) is sent once more:
 *   Node flags exactly that case (`req.reusedSocket`) as safe to retry.
 * - Timeouts (`timeoutMs`) run on the pool's scheduler: a late answer fails with a 504
 *   `UpstreamError`, a stalled body is cut.
 */
export class Http1UpstreamClient implements UpstreamClient {
  readonly protocol = 'http/1.1';
  /** @internal */
  readonly target: UpstreamTarget;
  /** @internal The target as logs and errors name it. */
  readonly name: string;
  /** @internal */
  readonly agent: PooledAgent;
  /** @internal */
  readonly timeoutMs: number;
  /** @internal The error of a stalled body: one function for every exchange. */
  readonly bodyStall: () => UpstreamError;
  readonly #timers: ExchangeTimers;
  readonly #http: typeof http | typeof https;

  constructor(pool: ConnectionPool, target: UpstreamTarget, options: Http1UpstreamClientOptions) {
    this.target = target;
    this.name = target.toString();
    this.timeoutMs = options.timeoutMs;
    this.bodyStall = () => upstreamTimeout(this.name, this.timeoutMs, 'body');
    this.#timers = new ExchangeTimers(options.scheduler ?? pool.options.scheduler, this.timeoutMs);
    this.#http = target.protocol === 'https:' ? https : http;
    if (target.protocol === 'http:') this.agent = pool.httpAgent();
    else this.agent = target.ca === undefined ? pool.httpsAgent() : pool.httpsAgent({ tls: { ca: target.ca } });
  }

  /** @throws UpstreamError (502, 503, 504); or any error once `request.clientAbort` has aborted. */
  request(request: UpstreamRequest): Promise<UpstreamResponse> {
    // One promise and one state object per exchange (a retry included), its listeners shared:
    // this runs for every proxied request (bench/RESULTS.md, issue 15).
    return new Promise<UpstreamResponse>((resolve, reject) => {
      new Http1Exchange(this, request, this.#timers.start(), resolve, reject).send();
    });
  }

  /** @internal A new request to the upstream, not yet sent. */
  outgoing(request: UpstreamRequest): http.ClientRequest {
    const target = this.target;
    return this.#http.request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: request.method,
      path: target.pathFor(request.path),
      headers: request.headers,
      agent: this.agent,
    });
  }
}

/** Where the shared listeners of a request find its exchange. */
const EXCHANGE = Symbol('http1Exchange');

type ExchangeRequest = http.ClientRequest & { [EXCHANGE]?: Http1Exchange };

/**
 * One exchange with the upstream: the request sent (twice at most: see the retry above), and
 * its answer or failure settling the promise of `request()` once.
 */
class Http1Exchange {
  readonly #client: Http1UpstreamClient;
  readonly #request: UpstreamRequest;
  readonly #timer: ExchangeTimer;
  readonly #resolve: (response: UpstreamResponse) => void;
  readonly #reject: (error: unknown) => void;
  /** The request being sent now. */
  #outgoing: ExchangeRequest | null = null;
  /** Whether the current attempt has settled (answered or failed). */
  #settled = false;
  #attempts = 0;
  #interim = 0;

  constructor(
    client: Http1UpstreamClient,
    request: UpstreamRequest,
    timer: ExchangeTimer,
    resolve: (response: UpstreamResponse) => void,
    reject: (error: unknown) => void,
  ) {
    this.#client = client;
    this.#request = request;
    this.#timer = timer;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  send(): void {
    const request = this.#request;
    if (request.clientAbort.aborted) {
      this.#fail(new Error('The client went away before the request was sent.'));
      return;
    }
    this.#attempts++;
    this.#settled = false;
    this.#interim = 0;
    const outgoing: ExchangeRequest = this.#client.outgoing(request);
    outgoing[EXCHANGE] = this;
    this.#outgoing = outgoing;
    this.#timer.onAnswerLate(abandonLateAnswer, this);
    request.clientAbort.onAbort(abandonForClient, this);
    outgoing.on('information', onInformation);
    outgoing.on('upgrade', onUpgrade);
    outgoing.on('response', onResponse);
    outgoing.on('error', onError);
    outgoing.on('close', onClose);

    const body = request.body;
    if (body === null) {
      outgoing.end();
      return;
    }
    // Not pipeline(): it would destroy the client's request (and so its socket) when the
    // upstream side fails, and the proxy could no longer answer 502 or 504.
    body.pipe(outgoing);
    // A body cut short is never finished upstream: the request (and its connection) goes.
    onRequestBodyCut(body, (error) => outgoing.destroy(error));
  }

  /** @internal The answer did not come in time. */
  answerLate(): void {
    this.#outgoing?.destroy(upstreamTimeout(this.#client.name, this.#client.timeoutMs, 'answer'));
  }

  /** @internal The client went away. */
  clientLeft(): void {
    this.#outgoing?.destroy(new Error('The client went away.'));
  }

  /** @internal An interim (1xx) answer. */
  interim(outgoing: ExchangeRequest, statusCode: number): void {
    if (outgoing !== this.#outgoing) return;
    const problem = interimAnswerProblem(statusCode, ++this.#interim);
    if (problem !== null) this.#refuse(outgoing, problem);
  }

  /** @internal A 101 to a request that asked for no upgrade: Node hands over the socket; it is closed. */
  upgraded(outgoing: ExchangeRequest, socket: { destroy(): void }): void {
    socket.destroy();
    if (outgoing === this.#outgoing && this.#settle()) this.#fail(upstreamProtocolError(this.#client.name, interimAnswerProblem(101, 1) as string));
  }

  /** @internal The final answer's head. */
  answered(outgoing: ExchangeRequest, res: http.IncomingMessage): void {
    const problem = finalAnswerProblem(res.statusCode, res.statusMessage);
    if (problem !== null) {
      // Not read to its end, so its connection is destroyed with it, never reused.
      res.destroy();
      this.#refuse(outgoing, problem);
      return;
    }
    if (outgoing !== this.#outgoing || !this.#settle()) {
      res.destroy();
      return;
    }
    // The body is the response itself: a consumer that destroys it (the client left)
    // destroys its connection, never reused; an upstream that drops mid-body fails it.
    this.#timer.answered(res, this.#client.bodyStall);
    this.#resolve({
      statusCode: res.statusCode as number,
      statusMessage: res.statusMessage,
      headers: res.headers,
      body: res,
      protocol: this.#client.protocol,
      reusedConnection: outgoing.reusedSocket,
    });
  }

  /** @internal The request failed. */
  failed(outgoing: ExchangeRequest, error: Error): void {
    // Once answered, failures belong to the body stream (the response).
    if (outgoing !== this.#outgoing || !this.#settle()) return;
    const request = this.#request;
    if (outgoing.reusedSocket && STALE_CONNECTION_CODES.has((error as { code?: string }).code ?? '')) {
      // Failed on a reused connection before any response byte (the upstream closed it while
      // it sat idle): sent once more if that is safe, with the same deadline.
      const retryable = request.body === null && IDEMPOTENT_METHODS.has(request.method.toUpperCase());
      if (this.#attempts === 1 && retryable && !request.clientAbort.aborted) this.send();
      else this.#fail(toUpstreamError(error, this.#client.name));
      return;
    }
    this.#fail(toUpstreamError(error, this.#client.name));
  }

  /** @internal The request closed. */
  closed(outgoing: ExchangeRequest): void {
    const body = this.#request.body;
    if (body !== null) {
      body.unpipe(outgoing);
      // Whatever the client still sends is read and dropped, so that its response can be written.
      if (!body.readableEnded) body.resume();
    }
    // Closed with neither an answer nor an error (Node ends a request this way in a few
    // cases): the client must still get its 502 rather than wait forever.
    if (outgoing === this.#outgoing && this.#settle()) {
      this.#fail(new UpstreamError('UPSTREAM_UNREACHABLE', 502, `The upstream ${this.#client.name} closed the connection without an answer.`));
    }
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#request.clientAbort.onAbort(null);
    return true;
  }

  #fail(error: unknown): void {
    this.#timer.stop();
    this.#reject(error);
  }

  // An answer that cannot be forwarded: the connection goes with the request (destroying
  // an unanswered request destroys its socket, which the pool then evicts).
  #refuse(outgoing: ExchangeRequest, problem: string): void {
    const error = upstreamProtocolError(this.#client.name, problem);
    if (outgoing === this.#outgoing && this.#settle()) this.#fail(error);
    outgoing.destroy(error);
  }
}

// The listeners of every upstream request, shared (`this` is the request): no closure per request.
function abandonLateAnswer(this: Http1Exchange): void {
  this.answerLate();
}
function abandonForClient(this: Http1Exchange): void {
  this.clientLeft();
}
function onInformation(this: ExchangeRequest, info: { statusCode: number }): void {
  this[EXCHANGE]?.interim(this, info.statusCode);
}
function onUpgrade(this: ExchangeRequest, _res: http.IncomingMessage, socket: { destroy(): void }): void {
  this[EXCHANGE]?.upgraded(this, socket);
}
function onResponse(this: ExchangeRequest, res: http.IncomingMessage): void {
  this[EXCHANGE]?.answered(this, res);
}
function onError(this: ExchangeRequest, error: Error): void {
  this[EXCHANGE]?.failed(this, error);
}
function onClose(this: ExchangeRequest): void {
  this[EXCHANGE]?.closed(this);
}
