import type { Socket } from 'node:net';

/** A socket's libuv stream handle, with the method recent Node versions give it. */
type HandleWithPendingRead = { hasPendingRead?: () => boolean };

/**
 * Whether bytes, a FIN or a RST wait in the kernel's receive buffer of an idle socket, which
 * the event loop has not read yet. Only the event loop's I/O poll reads them, and a request
 * made in the poll phase (a response's `'end'` handler sending the next one) is handed over
 * before the next poll: a FIN that arrived since the last poll goes unseen by the socket's
 * `'end'`/`readableEnded`, and the request is written onto a connection the server has
 * already closed (ECONNRESET, EPIPE).
 *
 * Node 24's `http.Agent` asks the kernel before handing a free socket to a request (its
 * `hasPendingRead(socket)` in lib/_http_agent.js, calling the stream handle's
 * `hasPendingRead()`), and this does the same where the handle offers that method. Where it
 * does not (Node 20), it answers false: there Node's agent does not look either.
 */
export function hasPendingRead(socket: Socket): boolean {
  // A socket still connecting has nothing to read yet (as Node checks first).
  if (socket.connecting) return false;
  const handle = (socket as Socket & { _handle?: HandleWithPendingRead | null })._handle;
  if (typeof handle?.hasPendingRead !== 'function') return false;
  return handle.hasPendingRead() === true;
}
