import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { request as undiciRequest, type Dispatcher } from 'undici';

/**
 * The chaos suites drive every HTTP client through this one small interface, so that the same
 * load (and the same faults) can go through the PooledAgent, a plain `http.Agent`, plain undici
 * and, once it is ready, `pool.dispatcher()` over HTTP/1.1 and HTTP/2.
 */

/** One request of the load. */
export interface ChaosRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'DELETE' | 'POST';
  /** Path and query. */
  readonly path: string;
  readonly body?: string;
  /** Fires at the request's deadline: the client must give up at once. */
  readonly signal: AbortSignal;
}

/** How one attempt of a request went (a request is retried at most once). */
export interface AttemptRecord {
  /** `Date.now()` when it was sent. */
  readonly startedAt: number;
  /** Whether it went on a reused connection; undefined when the client does not say (undici). */
  readonly reused: boolean | undefined;
  /** The client socket's local port, to find its connection in the fault proxy; undefined when unknown. */
  readonly localPort: number | undefined;
  /** `Date.now()` when the client had a connection for it (undefined: never, or the client does not say). */
  readonly connectedAt: number | undefined;
  /**
   * Whether the socket it was given had already been seen to close (destroyed, or the peer's
   * FIN read) when it was handed over: a pool must never hand such a socket out. Undefined when
   * the client does not say.
   */
  readonly closedAtHandOver?: boolean;
  /** Whether any byte of the response had arrived when it ended. */
  readonly responseStarted: boolean;
  /** How it failed, if it did. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** How a request ended, after its retry if it had one. */
export type ClientOutcome =
  | { readonly ok: true; readonly status: number; readonly body: string; readonly attempts: readonly AttemptRecord[] }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly attempts: readonly AttemptRecord[] };

/** A way of sending HTTP requests to one origin. */
export interface Client {
  /** As the results table shows it. */
  readonly name: string;
  /** What it does about a failure on a stale connection, as the results table shows it. */
  readonly retryPolicy: string;
  send(request: ChaosRequest): Promise<ClientOutcome>;
  /** Lets go of every connection the client itself holds (not the pool's: the test closes it). */
  close(): Promise<void>;
}

/** The code the load gives a request that reached its deadline, whatever the client said. */
export const TIMEOUT = 'TIMEOUT';

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/**
 * Node's documented signal that a request met a connection the server had closed and is safe
 * to send again if idempotent (see `req.reusedSocket` in Node's http docs and the PooledAgent's
 * TSDoc): it went on a reused connection, failed with ECONNRESET ("socket hang up", "read
 * ECONNRESET"), and no byte of a response had arrived.
 */
export function isStaleConnectionFailure(attempt: AttemptRecord): boolean {
  return attempt.reused === true && !attempt.responseStarted && attempt.error?.code === 'ECONNRESET';
}

function errorInfo(error: unknown): { code: string; message: string } {
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? `(${e.name})` : '(none)';
  return { code, message: typeof e?.message === 'string' ? e.message : String(error) };
}

/** Options of {@link nodeHttpClient}. */
export interface NodeHttpClientOptions {
  readonly name: string;
  /** `http://127.0.0.1:<port>` or `https://...`. */
  readonly origin: string;
  readonly agent: http.Agent;
  /** Send once more an idempotent request that failed as {@link isStaleConnectionFailure} says. */
  readonly retryStaleOnce: boolean;
  /** Called when the client lets go (e.g. `agent.destroy()`). */
  readonly onClose?: () => Promise<void> | void;
}

/**
 * Node's `http.request`/`https.request` with an agent: the PooledAgent, or a plain
 * `http.Agent` for comparison. With `retryStaleOnce`, it does what Node's docs tell a caller to
 * do on a stale keep-alive connection: send an idempotent request once more.
 */
export function nodeHttpClient(options: NodeHttpClientOptions): Client {
  const { origin, agent } = options;
  const secure = origin.startsWith('https:');
  async function send(request: ChaosRequest): Promise<ClientOutcome> {
    const attempts: AttemptRecord[] = [];
    for (;;) {
      const result = await attempt(request);
      attempts.push(result.record);
      if (result.ok) return { ok: true, status: result.status, body: result.body, attempts };
      const error = result.record.error as { code: string; message: string };
      const retry =
        options.retryStaleOnce && attempts.length === 1 && !request.signal.aborted && isIdempotent(request.method) && isStaleConnectionFailure(result.record);
      if (!retry) {
        const code = request.signal.aborted ? TIMEOUT : error.code;
        return { ok: false, code, message: error.message, attempts };
      }
      // On the next turn of the loop: the other connections the server closed in the same
      // moment have had their close read by then, so the pool does not hand one of them out.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  function attempt(request: ChaosRequest): Promise<{ ok: true; status: number; body: string; record: AttemptRecord } | { ok: false; record: AttemptRecord }> {
    return new Promise((resolve) => {
      const startedAt = Date.now();
      let socket: Socket | null = null;
      let connectedAt: number | undefined;
      let closedAtHandOver: boolean | undefined;
      let localPort: number | undefined;
      let bytesReadAtStart = 0;
      let responded = false;
      let settled = false;
      const headers: Record<string, string> = {};
      if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
      const record = (error?: unknown): AttemptRecord => {
        const bytesRead = socket ? socket.bytesRead - bytesReadAtStart : 0;
        return {
          startedAt,
          reused: req.reusedSocket,
          localPort: localPort ?? socket?.localPort,
          connectedAt,
          ...(closedAtHandOver !== undefined ? { closedAtHandOver } : {}),
          responseStarted: responded || bytesRead > 0,
          ...(error === undefined ? {} : { error: errorInfo(error) }),
        };
      };
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        resolve({ ok: false, record: record(error) });
      };
      const client = secure ? https : http;
      const req = client.request(`${origin}${request.path}`, { method: request.method, agent, headers, signal: request.signal });
      req.on('socket', (assigned: Socket) => {
        socket = assigned;
        // The agent hands a socket over right after its last health check, and no I/O
        // callback runs between that and this event (a nextTick later): what the socket
        // shows now, the agent saw.
        closedAtHandOver = assigned.destroyed || assigned.readableEnded || (!assigned.connecting && !assigned.writable);
        bytesReadAtStart = assigned.bytesRead;
        localPort = assigned.localPort;
        if (localPort !== undefined) {
          connectedAt = Date.now();
        } else {
          assigned.once('connect', () => {
            localPort = assigned.localPort;
            connectedAt = Date.now();
          });
        }
      });
      req.on('error', fail);
      req.on('response', (res: http.IncomingMessage) => {
        responded = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ ok: true, status: res.statusCode ?? 0, body, record: record() });
        });
        res.on('close', () => {
          if (!res.complete) fail(Object.assign(new Error('the response ended before its body was complete'), { code: 'ERR_RESPONSE_INCOMPLETE' }));
        });
      });
      req.end(request.body);
    });
  }

  return {
    name: options.name,
    retryPolicy: options.retryStaleOnce ? 'the caller sends an idempotent request once more on reusedSocket + ECONNRESET' : 'none',
    send,
    async close() {
      await options.onClose?.();
    },
  };
}

/** Options of {@link undiciClient}. */
export interface UndiciClientOptions {
  readonly name: string;
  readonly origin: string;
  readonly dispatcher: Dispatcher;
  readonly retryPolicy: string;
  readonly onClose?: () => Promise<void> | void;
}

/**
 * `undici.request` through a dispatcher: a plain undici `Pool`/`Agent`, or `pool.dispatcher()`
 * (which retries by itself). undici says nothing of sockets, so attempts carry no port and no
 * reuse flag; what the dispatcher retried, the pool's `retry` events say.
 */
export function undiciClient(options: UndiciClientOptions): Client {
  return {
    name: options.name,
    retryPolicy: options.retryPolicy,
    async send(request) {
      const startedAt = Date.now();
      let responded = false;
      try {
        const response = await undiciRequest(`${options.origin}${request.path}`, {
          method: request.method,
          dispatcher: options.dispatcher,
          signal: request.signal,
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        responded = true;
        const body = await response.body.text();
        return { ok: true, status: response.statusCode, body, attempts: [{ startedAt, reused: undefined, localPort: undefined, connectedAt: undefined, responseStarted: true }] };
      } catch (error) {
        const info = errorInfo(error);
        const attempt: AttemptRecord = { startedAt, reused: undefined, localPort: undefined, connectedAt: undefined, responseStarted: responded, error: info };
        return { ok: false, code: request.signal.aborted ? TIMEOUT : info.code, message: info.message, attempts: [attempt] };
      }
    },
    async close() {
      await options.onClose?.();
    },
  };
}
