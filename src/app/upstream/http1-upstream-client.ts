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

/** A request failed on a reused connection before any response byte: it is safe to send again. */
class StaleConnectionError extends Error {
  constructor(readonly original: unknown) {
    super('the reused connection was closed by the upstream');
  }
}

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
  readonly #target: UpstreamTarget;
  readonly #agent: PooledAgent;
  readonly #timeoutMs: number;
  readonly #timers: ExchangeTimers;

  constructor(pool: ConnectionPool, target: UpstreamTarget, options: Http1UpstreamClientOptions) {
    this.#target = target;
    this.#timeoutMs = options.timeoutMs;
    this.#timers = new ExchangeTimers(options.scheduler ?? pool.options.scheduler, this.#timeoutMs);
    if (target.protocol === 'http:') this.#agent = pool.httpAgent();
    else this.#agent = target.ca === undefined ? pool.httpsAgent() : pool.httpsAgent({ tls: { ca: target.ca } });
  }

  /** @throws UpstreamError (502, 503, 504); or any error once `request.clientAbort` has aborted. */
  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const retryable = request.body === null && IDEMPOTENT_METHODS.has(request.method.toUpperCase());
    // One timer for the exchange, a retry included: the answer within timeoutMs of now.
    const timer = this.#timers.start();
    try {
      try {
        return await this.#send(request, timer);
      } catch (error) {
        if (!(error instanceof StaleConnectionError)) throw error;
        if (!retryable || request.clientAbort.aborted) throw toUpstreamError(error.original, this.#target.toString());
        return await this.#send(request, timer);
      }
    } catch (error) {
      timer.stop();
      throw error;
    }
  }

  #send(request: UpstreamRequest, timer: ExchangeTimer): Promise<UpstreamResponse> {
    const target = this.#target;
    const name = target.toString();
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (request.clientAbort.aborted) {
        reject(new Error('The client went away before the request was sent.'));
        return;
      }
      const outgoing = (target.protocol === 'https:' ? https : http).request({
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: target.pathFor(request.path),
        headers: request.headers,
        agent: this.#agent,
      });
      let settled = false;
      timer.onAnswerLate(() => outgoing.destroy(upstreamTimeout(name, this.#timeoutMs, 'answer')));
      request.clientAbort.onAbort(() => outgoing.destroy(new Error('The client went away.')));
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        request.clientAbort.onAbort(null);
        return true;
      };
      // An answer that cannot be forwarded: the connection goes with the request (destroying
      // an unanswered request destroys its socket, which the pool then evicts).
      const refuse = (problem: string): void => {
        const error = upstreamProtocolError(name, problem);
        if (settle()) reject(error);
        outgoing.destroy(error);
      };

      let interim = 0;
      outgoing.on('information', (info: { statusCode: number }) => {
        const problem = interimAnswerProblem(info.statusCode, ++interim);
        if (problem !== null) refuse(problem);
      });
      // A 101 to a request that asked for no upgrade: Node hands over the socket; it is closed.
      outgoing.once('upgrade', (_res: http.IncomingMessage, socket: { destroy(): void }) => {
        socket.destroy();
        if (settle()) reject(upstreamProtocolError(name, interimAnswerProblem(101, 1) as string));
      });
      outgoing.once('response', (res) => {
        const problem = finalAnswerProblem(res.statusCode, res.statusMessage);
        if (problem !== null) {
          // Not read to its end, so its connection is destroyed with it, never reused.
          res.destroy();
          refuse(problem);
          return;
        }
        if (!settle()) {
          res.destroy();
          return;
        }
        // The body is the response itself: a consumer that destroys it (the client left)
        // destroys its connection, never reused; an upstream that drops mid-body fails it.
        timer.answered(res, () => upstreamTimeout(name, this.#timeoutMs, 'body'));
        resolve({
          statusCode: res.statusCode as number,
          statusMessage: res.statusMessage,
          headers: res.headers,
          body: res,
          protocol: this.protocol,
          reusedConnection: outgoing.reusedSocket,
        });
      });
      outgoing.on('error', (error) => {
        // Once answered, failures belong to the body stream (the response).
        if (!settle()) return;
        if (outgoing.reusedSocket && STALE_CONNECTION_CODES.has((error as { code?: string }).code ?? '')) reject(new StaleConnectionError(error));
        else reject(toUpstreamError(error, name));
      });
      // Closed with neither an answer nor an error (Node ends a request this way in a few
      // cases): the client must still get its 502 rather than wait forever.
      outgoing.once('close', () => {
        if (settle()) reject(new UpstreamError('UPSTREAM_UNREACHABLE', 502, `The upstream ${name} closed the connection without an answer.`));
      });

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
      outgoing.once('close', () => {
        body.unpipe(outgoing);
        // Whatever the client still sends is read and dropped, so that its response can be written.
        if (!body.readableEnded) body.resume();
      });
    });
  }
}
