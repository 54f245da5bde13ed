import type { Socket } from 'node:net';
import type { ConnectionPool } from '../../../http/index.js';
import { asPeerConnectError } from '../../../http/connect-failure.js';
import { loadTimeSetImmediate } from '../../../http/load-time-timers.js';
import { hasPendingRead } from '../../../http/pending-read.js';
import type { AddressInput, Lease } from '../../../pool/index.js';
import { SocketTransport } from '../../../transport/index.js';
import { upstreamProtocolError } from '../upstream-answer.js';
import { toUpstreamError, type UpstreamError } from '../upstream.errors.js';

/** Where the connections of one upstream client come from. */
export interface ConnectionSource {
  readonly pool: ConnectionPool;
  /** The pool address of the upstream. */
  readonly address: AddressInput;
  /** The upstream as errors name it. */
  readonly name: string;
}

/** Who asked for a connection: an exchange, told once how it went (unless it stopped wanting one). */
export interface ConnectionTaker {
  /** False once it no longer wants a connection (it failed, timed out, or its client left): one found then is given back. */
  readonly wantsConnection: boolean;
  /** What to abort to stop waiting for the pool (null: not waiting). */
  waitingWith(waiting: AbortController | null): void;
  /** A connection fit for an exchange, not attached yet. */
  connected(lease: Lease, transport: SocketTransport): void;
  /** None could be had: the pool's or the connect's error, as the proxy answers it. */
  notConnected(error: UpstreamError): void;
}

/**
 * A reused connection idle for longer than this waits one turn of the event loop before it is
 * written to, so that a FIN or RST already on its way is read first (undici's idle-socket
 * validation; the PooledAgent does it for every reuse). Servers close idle connections on a
 * timeout of a second or more (Node 5 s, nginx 75 s; a `Keep-Alive: timeout` hint is honoured
 * before that): a connection given back a moment ago is not one of them, and the proxy's hot
 * path does not pay that turn for every request.
 */
const VALIDATE_AFTER_IDLE_MS = 1_000;

/** When the socket's connection was last given back fit for reuse (the pool's clock). */
const GIVEN_BACK_AT = Symbol('h1GivenBackAt');

type PooledSocket = Socket & { [GIVEN_BACK_AT]?: number };

/** Notes that `socket`'s connection goes back to the pool fit for reuse, at `now`. */
export function givenBack(socket: Socket, now: number): void {
  (socket as PooledSocket)[GIVEN_BACK_AT] = now;
}

/**
 * Finds a connection for one attempt of an exchange. The first attempt takes an idle one at
 * once if the pool has one, else waits for the pool (a slot, a connect); a second attempt (a
 * request sent again after a stale connection) asks for a new one. A reused connection is
 * checked before it is handed over: what the event loop has read (`isHealthy`: closed,
 * half-closed, stray bytes), what waits unread in the kernel (Node 24's `hasPendingRead`),
 * and, after a long idle time, both again one turn of the event loop later. One that fails
 * a check is closed, and a new connection is asked for: its siblings, idle as long, may be
 * closed as well.
 */
export function requestConnection(source: ConnectionSource, taker: ConnectionTaker, firstAttempt: boolean): void {
  if (firstAttempt) {
    let lease: Lease | null;
    try {
      lease = source.pool.acquireNow(source.address);
    } catch (error) {
      taker.notConnected(toUpstreamError(error, source.name));
      return;
    }
    if (lease !== null) {
      offer(source, taker, lease, false);
      return;
    }
  }
  waitForConnection(source, taker, firstAttempt);
}

/** Waits for a connection from the pool: an idle one if `reuse`, else a new one. */
function waitForConnection(source: ConnectionSource, taker: ConnectionTaker, reuse: boolean): void {
  const waiting = new AbortController();
  taker.waitingWith(waiting);
  source.pool.acquireWith(
    source.address,
    { signal: waiting.signal, reuse },
    // Called inside the pool's bookkeeping: nothing may throw out of them.
    (lease) => {
      try {
        offer(source, taker, lease, false);
      } catch (error) {
        lease.noNewExchanges();
        lease.release();
        taker.notConnected(toUpstreamError(error, source.name));
      }
    },
    (error) => {
      taker.waitingWith(null);
      taker.notConnected(toUpstreamError(asPeerConnectError(error), source.name));
    },
  );
}

/** Hands `lease` to the taker if it still wants it and the connection passes the checks. */
function offer(source: ConnectionSource, taker: ConnectionTaker, lease: Lease, validated: boolean): void {
  taker.waitingWith(null);
  // Timed out, or the client left, while the connection was found.
  if (!taker.wantsConnection) {
    lease.release();
    return;
  }
  const transport = lease.transport;
  if (!(transport instanceof SocketTransport)) {
    // An https: upstream that chose h2 by ALPN: this client speaks HTTP/1.1 only.
    lease.release();
    taker.notConnected(upstreamProtocolError(source.name, 'its connection does not speak HTTP/1.1 (set UPSTREAM_HTTP2=auto for HTTP/2)'));
    return;
  }
  if (lease.reused || validated) {
    const socket = transport.socket as PooledSocket;
    if (!transport.isHealthy() || hasPendingRead(socket)) {
      lease.noNewExchanges();
      lease.release();
      waitForConnection(source, taker, false);
      return;
    }
    const givenBackAt = socket[GIVEN_BACK_AT];
    if (!validated && givenBackAt !== undefined && source.pool.options.scheduler.now() - givenBackAt >= VALIDATE_AFTER_IDLE_MS) {
      loadTimeSetImmediate(() => offer(source, taker, lease, true));
      return;
    }
  }
  taker.connected(lease, transport);
}
