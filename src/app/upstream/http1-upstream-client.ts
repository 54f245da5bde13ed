import type { IncomingHttpHeaders } from 'node:http';
import type { SchedulerLike } from 'rxjs';
import { parseKeepAliveTimeout, type ConnectionPool } from '../../http/index.js';
import type { AddressInput } from '../../pool/index.js';
import { ExchangeTimers } from './exchange-timer.js';
import { H1Exchange, type H1ExchangeContext } from './h1/h1-exchange.js';
import { requestHead } from './h1/request-head.js';
import type { UpstreamClient, UpstreamReceiver, UpstreamRequest } from './upstream-client.js';
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
  /**
   * How long before the end of the upstream's `Keep-Alive: timeout=N` hint a connection stops
   * being reused (ms); default 1,000, as the PooledAgent's `keepAliveHintMargin`.
   */
  readonly keepAliveMarginMs?: number;
}

/**
 * HTTP/1.1 to the upstream over the pool's connections, leased for each request and given back
 * when the answer has been read whole. It is the gateway's own client, not Node's `http.request`
 * over the `PooledAgent`: it writes the request head in one string, parses the answer with a
 * strict parser of its own ({@link H1ResponseParser}), and hands the body to the proxy without a
 * stream in between. Node's client spent more per proxied request than the rest of the gateway
 * together (a `ClientRequest`, an `IncomingMessage`, the agent's bookkeeping, `pipe()`:
 * bench/RESULTS.md, issue 15).
 *
 * - Bodies stream both ways with backpressure; nothing is buffered whole.
 * - A request without a body, with an idempotent method, that fails on a reused connection
 *   before any answer byte (the upstream closed it while it was idle) is sent once more.
 * - Timeouts (`timeoutMs`) run on the pool's scheduler: a late answer fails with a 504
 *   `UpstreamError`, a stalled body is cut.
 * - What can be forwarded is decided by `upstream-answer.ts`; anything the parser cannot read as
 *   HTTP/1.1 is a 502, and the connection is closed.
 * - The upstream's `Keep-Alive: timeout=N` is honoured (the connection leaves the pool a
 *   margin before the server would drop it).
 */
export class Http1UpstreamClient implements UpstreamClient {
  readonly protocol = 'http/1.1';
  readonly #context: H1ExchangeContext;
  readonly #target: UpstreamTarget;
  /** The `Host` of every request: the upstream's authority, as Node's client writes it. */
  readonly #host: string;
  readonly #timers: ExchangeTimers;

  constructor(pool: ConnectionPool, target: UpstreamTarget, options: Http1UpstreamClientOptions) {
    this.#target = target;
    const marginMs = options.keepAliveMarginMs ?? 1_000;
    this.#context = {
      pool,
      address: addressOf(target),
      name: target.toString(),
      timeoutMs: options.timeoutMs,
      describeLeases: pool.options.leakDetectionThresholdMs !== undefined,
      idleTimeoutFor(headers: IncomingHttpHeaders): number | undefined {
        const hint = parseKeepAliveTimeout(headers['keep-alive']);
        return hint === undefined ? undefined : hint - marginMs;
      },
    };
    const host = target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname;
    const defaultPort = target.protocol === 'https:' ? 443 : 80;
    this.#host = target.port === defaultPort ? host : `${host}:${target.port}`;
    this.#timers = new ExchangeTimers(options.scheduler ?? pool.options.scheduler, options.timeoutMs);
  }

  /** {@link UpstreamClient.send}: `receiver` hears the answer's head, or an `UpstreamError` (502, 503, 504). */
  send(request: UpstreamRequest, receiver: UpstreamReceiver): void {
    let head: string;
    try {
      // Built (and checked) before a connection is leased: a head that cannot be written costs none.
      head = requestHead(request.method, this.#target.pathFor(request.path), this.#host, request.headers);
    } catch (error) {
      receiver.failed(error);
      return;
    }
    new H1Exchange(this.#context, request, head, this.#timers.start(), receiver).send();
  }
}

/** The pool address of the upstream: its origin, with the CA it needs for https:. */
function addressOf(target: UpstreamTarget): AddressInput {
  if (target.protocol === 'http:') return target.origin;
  return { host: target.hostname, port: target.port, protocol: 'https:', tls: target.ca === undefined ? true : { ca: target.ca } };
}
