import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Lease } from '../../../pool/index.js';
import type { SocketTransport } from '../../../transport/index.js';
import type { ExchangeTimer } from '../exchange-timer.js';
import { onRequestBodyCut } from '../request-body.js';
import { finalAnswerProblem, interimAnswerProblem, upstreamProtocolError } from '../upstream-answer.js';
import type { UpstreamReceiver, UpstreamRequest } from '../upstream-client.js';
import { closedWithoutAnswer, toUpstreamError, upstreamTimeout, type UpstreamError } from '../upstream.errors.js';
import { givenBack, requestConnection, type ConnectionSource, type ConnectionTaker } from './connection-lease.js';
import { RequestBodyWriter } from './request-body-writer.js';
import { H1ResponseBody, type BodySource } from './response-body.js';
import { H1ResponseParser, type H1ResponseHead, type H1ResponseSink } from './response-parser.js';

/** What every exchange of one client shares: where to, and how. */
export interface H1ExchangeContext extends ConnectionSource {
  readonly timeoutMs: number;
  /** Whether leases say what they are for (the pool reports leaks). */
  readonly describeLeases: boolean;
  /** How long the upstream's server hint allows a connection to stay idle, less the margin; undefined without a hint. */
  idleTimeoutFor(headers: IncomingHttpHeaders): number | undefined;
}

/** Methods that may be sent again after a failure (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Codes of a connection that the server closed while it sat idle in the pool. */
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** Where the socket's shared listeners find the exchange using it. */
const EXCHANGE = Symbol('h1Exchange');

type ExchangeSocket = Socket & { [EXCHANGE]?: H1Exchange | null };

/**
 * One request to the upstream over a pooled HTTP/1.1 connection: the lease, the head and body
 * written, the answer parsed ({@link H1ResponseParser}), the body handed to the proxy
 * ({@link H1ResponseBody}), and the connection given back when the answer has been read
 * whole, reusable or not. It tells its receiver once: the answer's head, or an `UpstreamError`.
 * What one read of the connection brings is written to the client in one call, and only then
 * is the connection given back: the client's answer first, the pool's bookkeeping after.
 *
 * A request without a body, with an idempotent method, that fails on a reused connection
 * before any byte of an answer (the upstream closed the connection while it sat idle) is sent
 * once more, on a new connection: as Node flags exactly that case (`req.reusedSocket`) safe.
 *
 * A connection is never reused after `Connection: close`, an answer of unknown length, bytes
 * beyond the answer, a request body not written whole (the upstream answered early), any
 * failure, or an abandoned body: its unread or unwritten bytes would belong to the next request.
 */
export class H1Exchange implements ConnectionTaker, H1ResponseSink, BodySource {
  readonly #context: H1ExchangeContext;
  readonly #request: UpstreamRequest;
  readonly #head: string;
  readonly #timer: ExchangeTimer;
  readonly #receiver: UpstreamReceiver;
  #attempts = 0;
  /** While the pool finds or makes a connection. */
  #waiting: AbortController | null = null;
  #lease: Lease | null = null;
  #transport: SocketTransport | null = null;
  #socket: ExchangeSocket | null = null;
  #bytesReadBefore = 0;
  readonly #parser: H1ResponseParser;
  #writer: RequestBodyWriter | null = null;
  #body: H1ResponseBody | null = null;
  #interim = 0;
  /** Whether the connection may serve another exchange when this one is over. */
  #reusable = true;
  /** Whether the receiver has been told. */
  #settled = false;
  /** Whether the answer has been read whole (the connection is given back after the read that completed it). */
  #complete = false;
  #paused = false;

  constructor(
    context: H1ExchangeContext,
    request: UpstreamRequest,
    head: string,
    timer: ExchangeTimer,
    receiver: UpstreamReceiver,
  ) {
    this.#context = context;
    this.#request = request;
    this.#head = head;
    this.#timer = timer;
    this.#receiver = receiver;
    this.#parser = new H1ResponseParser(this);
  }

  /** Sends the request (again, on a new connection, for a retry). */
  send(): void {
    const request = this.#request;
    if (request.clientAbort.aborted) {
      this.#fail(new Error('The client went away before the request was sent.'));
      return;
    }
    this.#attempts++;
    if (this.#attempts === 1) {
      this.#timer.onAnswerLate(answerLate, this);
      request.clientAbort.onAbort(clientLeft, this);
      if (request.body !== null) onRequestBodyCut(request.body, (error) => this.#requestBodyCut(error));
    }
    requestConnection(this.#context, this, this.#attempts === 1);
  }

  // ---- the connection (ConnectionTaker) -------------------------------------------------------

  get wantsConnection(): boolean {
    return !this.#settled;
  }

  waitingWith(waiting: AbortController | null): void {
    this.#waiting = waiting;
  }

  connected(lease: Lease, transport: SocketTransport): void {
    this.#start(lease, transport, transport.socket as ExchangeSocket);
  }

  notConnected(error: UpstreamError): void {
    this.#fail(error);
  }

  #start(lease: Lease, transport: SocketTransport, socket: ExchangeSocket): void {
    const context = this.#context;
    const request = this.#request;
    this.#lease = lease;
    this.#transport = transport;
    this.#socket = socket;
    this.#reusable = true;
    this.#complete = false;
    this.#interim = 0;
    transport.attach();
    socket[EXCHANGE] = this;
    this.#bytesReadBefore = socket.bytesRead;
    // Never the query: it may carry keys and tokens, and leak reports are logged.
    if (context.describeLeases) lease.describe(`${request.method} ${context.name}${request.path.split('?', 1)[0]}: request in flight`);
    this.#parser.expect(request.method);
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    const body = request.body;
    if (body === null) {
      socket.write(this.#head, 'latin1');
      return;
    }
    // The head goes with the body's first piece.
    this.#writer = new RequestBodyWriter(this.#head, body, socket, request.framing);
    this.#writer.start();
  }

  // ---- the answer (H1ResponseSink) ------------------------------------------------------------

  /** @internal Bytes from the upstream. */
  received(chunk: Buffer): void {
    const problem = this.#parser.push(chunk);
    if (problem !== null) this.#refuse(problem);
    else this.#afterRead();
  }

  /** What the read brought goes to the client in one write; an answer read whole gives its connection back. */
  #afterRead(): void {
    this.#body?.flush();
    if (this.#complete) this.#giveBack();
  }

  onInterim(statusCode: number): void {
    const problem = interimAnswerProblem(statusCode, ++this.#interim);
    if (problem !== null) {
      this.#parser.stop();
      this.#refuse(problem);
    }
  }

  onHead(head: H1ResponseHead): void {
    const problem = finalAnswerProblem(head.statusCode, head.statusMessage);
    if (problem !== null) {
      this.#parser.stop();
      this.#refuse(problem);
      return;
    }
    if (!head.keepAlive) this.#reusable = false;
    const idleTimeout = this.#context.idleTimeoutFor(head.headers);
    if (idleTimeout !== undefined) (this.#transport as SocketTransport).idleTimeout = idleTimeout;
    this.#settled = true;
    this.#request.clientAbort.onAbort(null);
    const body = new H1ResponseBody(this);
    this.#body = body;
    // From now on the timer watches the body: silent for timeoutMs, it is cut.
    this.#timer.touch();
    this.#timer.onAnswerLate(bodyStalled, this);
    this.#receiver.answered({
      statusCode: head.statusCode,
      statusMessage: head.statusMessage,
      headers: head.headers,
      body,
      protocol: 'http/1.1',
      reusedConnection: (this.#lease as Lease).reused,
    });
  }

  onBody(chunk: Buffer): void {
    this.#timer.touch();
    (this.#body as H1ResponseBody).push(chunk);
  }

  onEnd(trailingBytes: number): void {
    // More than one answer to one request: the upstream and this gateway disagree on framing.
    if (trailingBytes > 0) this.#reusable = false;
    this.#timer.stop();
    this.#complete = true;
    (this.#body as H1ResponseBody).end();
  }

  /** @internal The upstream half-closed the connection. */
  peerEnded(): void {
    if (this.#body !== null) {
      // Ends a body delimited by the close; any other is cut.
      const problem = this.#parser.end();
      if (problem !== null) this.#failBody(upstreamProtocolError(this.#context.name, problem));
      else this.#afterRead();
      return;
    }
    this.#connectionLost(closedWithoutAnswer(this.#context.name), true);
  }

  /** @internal The connection closed under the exchange. */
  closed(): void {
    const error = this.#transport?.error ?? null;
    if (this.#body !== null) this.#failBody(error ?? closedWithoutAnswer(this.#context.name));
    else if (error === null) this.#connectionLost(closedWithoutAnswer(this.#context.name), true);
    else this.#connectionLost(error, STALE_CONNECTION_CODES.has((error as { code?: string }).code ?? ''));
  }

  // ---- the body's consumer (BodySource) -------------------------------------------------------

  pause(): void {
    if (this.#paused || this.#socket === null) return;
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    if (!this.#paused || this.#socket === null) return;
    this.#paused = false;
    this.#socket.resume();
  }

  abandon(): void {
    this.#timer.stop();
    this.#dropConnection();
  }

  // ---- the request body ----------------------------------------------------------------------

  #requestBodyCut(error: Error): void {
    // What went out is not a whole request: the connection goes, unanswered or not.
    if (this.#body !== null) this.#failBody(error);
    else {
      this.#waiting?.abort();
      this.#dropConnection();
      this.#fail(error);
    }
  }

  // ---- endings --------------------------------------------------------------------------------

  /** @internal The answer did not come in time. */
  answerLate(): void {
    this.#waiting?.abort();
    this.#dropConnection();
    this.#fail(upstreamTimeout(this.#context.name, this.#context.timeoutMs, 'answer'));
  }

  /** @internal The client went away before the answer. */
  clientLeft(): void {
    this.#waiting?.abort();
    this.#dropConnection();
    this.#fail(new Error('The client went away.'));
  }

  /** @internal The body stayed silent for timeoutMs. */
  bodyStalled(): void {
    this.#failBody(upstreamTimeout(this.#context.name, this.#context.timeoutMs, 'body'));
  }

  /**
   * The connection failed before an answer: sent again if that is safe, else the request fails.
   * `hungUp`: the way a connection the server closed while it was idle fails (a reset, a broken
   * pipe, or an end before any answer).
   */
  #connectionLost(error: Error, hungUp: boolean): void {
    const lease = this.#lease;
    const socket = this.#socket;
    const request = this.#request;
    const answered = socket !== null && socket.bytesRead > this.#bytesReadBefore;
    const stale = hungUp && lease !== null && lease.reused && !answered;
    this.#dropConnection();
    if (stale && this.#attempts === 1 && request.body === null && IDEMPOTENT_METHODS.has(request.method.toUpperCase()) && !request.clientAbort.aborted) {
      this.send();
      return;
    }
    this.#fail(toUpstreamError(error, this.#context.name));
  }

  /** An answer that cannot be forwarded: refused, and its connection closed. */
  #refuse(problem: string): void {
    const error = upstreamProtocolError(this.#context.name, problem);
    if (this.#body !== null) {
      this.#failBody(error);
      return;
    }
    this.#dropConnection();
    this.#fail(error);
  }

  /** The body failed after the answer: the proxy cuts the client's response. */
  #failBody(error: Error): void {
    this.#timer.stop();
    this.#dropConnection();
    this.#body?.fail(error);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#request.clientAbort.onAbort(null);
    this.#timer.stop();
    this.#receiver.failed(error);
  }

  /** The connection is not fit for another exchange: closed, and given back. */
  #dropConnection(): void {
    const socket = this.#socket;
    if (socket === null) return;
    this.#reusable = false;
    socket.destroy();
    this.#giveBack();
  }

  /** The exchange is done with its connection: listeners off, lease released (reusable or not). */
  #giveBack(): void {
    const socket = this.#socket;
    const lease = this.#lease as Lease;
    const transport = this.#transport as SocketTransport;
    if (socket === null) return;
    this.#socket = null;
    this.#lease = null;
    this.#transport = null;
    this.#parser.stop();
    socket[EXCHANGE] = null;
    socket.removeListener('data', onSocketData);
    socket.removeListener('end', onSocketEnd);
    socket.removeListener('close', onSocketClose);
    if (this.#paused) {
      this.#paused = false;
      socket.resume();
    }
    const writer = this.#writer;
    if (writer !== null) {
      this.#writer = null;
      if (!writer.done) {
        // The upstream answered before the body was written whole: the rest is read and dropped
        // (so that the client's next request can be read), and the connection is not reused.
        writer.stop();
        this.#reusable = false;
        const body = this.#request.body;
        if (body !== null && !body.readableEnded) body.resume();
      }
    }
    const idleTimeout = transport.idleTimeout;
    const fit = transport.detach() && this.#reusable && !(idleTimeout !== undefined && idleTimeout <= 0);
    if (fit) givenBack(socket, this.#context.pool.options.scheduler.now());
    else lease.noNewExchanges();
    lease.release();
  }
}

// Shared listeners (`this` is the socket or the exchange): no closure per request.
function onSocketData(this: ExchangeSocket, chunk: Buffer): void {
  this[EXCHANGE]?.received(chunk);
}
function onSocketEnd(this: ExchangeSocket): void {
  this[EXCHANGE]?.peerEnded();
}
function onSocketClose(this: ExchangeSocket): void {
  this[EXCHANGE]?.closed();
}
function answerLate(this: H1Exchange): void {
  this.answerLate();
}
function clientLeft(this: H1Exchange): void {
  this.clientLeft();
}
function bodyStalled(this: H1Exchange): void {
  this.bodyStalled();
}
