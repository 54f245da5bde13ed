import type { Socket } from 'node:net';
import { Client } from 'undici';
import type { SocketTransport } from '../transport/index.js';
import { ConnectionGoneError } from './errors.js';

/** The options of the undici `Client` that speaks HTTP/1.1 over a pooled socket. */
export interface H1ClientOptions {
  readonly headersTimeout: number;
  readonly bodyTimeout: number;
  readonly maxHeaderSize: number | undefined;
  readonly maxResponseSize: number;
}

/**
 * undici's keep-alive timers must never close a pooled connection behind the pool's back:
 * they are set past any idle time the pool allows (the largest delay a Node timer takes).
 */
const NEVER_MS = 2 ** 31 - 1;

/** One undici Client per pooled socket, made on first use and gone with the socket. */
const clients = new WeakMap<SocketTransport, Client>();

/**
 * The undici `Client` bound to `transport`'s socket for the socket's whole life: undici's
 * HTTP/1.1 codec (its llhttp parser) over a connection the pool owns. The Client is given
 * the socket once, through its `connect` option; should it ask again (the socket closed
 * under a request), it gets {@link ConnectionGoneError} and the request fails unsent. When
 * the socket closes, the Client is destroyed, and a request it had not begun to write fails
 * with {@link ConnectionGoneError} too.
 *
 * The socket stays attached (see `SocketTransport.attach`) while the Client holds it:
 * undici reads it at all times, refs it while a request is in flight and unrefs it when
 * idle, and destroys it if bytes arrive while idle or the peer half-closes, which the pool
 * then sees as a close. So such connections are kept apart from other clients of the pool
 * (the dispatcher acquires them in a partition of its own).
 */
export function h1ClientFor(transport: SocketTransport, options: H1ClientOptions): Client {
  let client = clients.get(transport);
  if (client === undefined) {
    client = bind(transport, options);
    clients.set(transport, client);
  }
  return client;
}

function bind(transport: SocketTransport, options: H1ClientOptions): Client {
  let socket: Socket | null = transport.attach();
  const target = String(transport.address);
  const client = new Client(clientUrl(transport), {
    connect: (_options, callback) => {
      const given = socket;
      socket = null;
      // Asynchronously, as a real connect: undici asks from inside its resume loop, and
      // ignores the resume a synchronous answer would ask for (the request would sit unsent).
      queueMicrotask(() => {
        if (given === null || given.destroyed) callback(new ConnectionGoneError(target), null);
        else callback(null, given);
      });
    },
    pipelining: 1,
    keepAliveTimeout: NEVER_MS,
    keepAliveMaxTimeout: NEVER_MS,
    // The server's Keep-Alive hint is the pool's to honour (as `idleTimeout`): undici must
    // neither shorten its timer by it nor refuse to reuse a connection because of it.
    keepAliveTimeoutThreshold: -NEVER_MS,
    headersTimeout: options.headersTimeout,
    bodyTimeout: options.bodyTimeout,
    maxResponseSize: options.maxResponseSize,
    ...(options.maxHeaderSize !== undefined ? { maxHeaderSize: options.maxHeaderSize } : {}),
  });
  transport.on('close', () => {
    clients.delete(transport);
    // A request still waiting in the Client was never written: undici waits a turn of the
    // event loop (its idle-socket validation) before it writes on a socket that served an
    // earlier request, and a FIN or RST that lands meanwhile closes the socket under it.
    // undici fails such requests with the error it is destroyed with: say what happened (not
    // sent; the dispatcher sends it again) rather than "The client is destroyed". A request
    // being written or answered fails with the socket's own error (undici's 'close' listener,
    // added after this one, reports it).
    client.destroy(new ConnectionGoneError(target)).catch(() => undefined);
  });
  return client;
}

/**
 * The origin the Client writes in its Host header. It is always given as `http:` with the
 * port only when it is not the scheme's default: undici then writes the same Host header as
 * for the real origin, and never compares TLS server names (which it does for `https:`
 * Clients, and would end in a reconnect the pool does not allow).
 */
function clientUrl(transport: SocketTransport): string {
  const { host, port, protocol } = transport.address;
  const defaultPort = protocol === 'https:' || protocol === 'tls:' ? 443 : 80;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `http://${hostPart}${port === defaultPort ? '' : `:${port}`}`;
}
