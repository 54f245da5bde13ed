import type { Socket } from 'node:net';

function ignoreError(): void {
  // The socket's failure has been reported already; a late error must not crash the process.
}

/** Makes sure an `'error'` on `socket` is never unhandled, while nobody else listens. */
export function guardSocket(socket: Socket): void {
  socket.on('error', ignoreError);
}

/** Destroys a socket that will not be used, without leaving a late `'error'` unhandled. */
export function discardSocket(socket: Socket): void {
  guardSocket(socket);
  socket.destroy();
}

/**
 * Pauses `socket` and forgets its reading mode, as if nobody had read from it yet: the next
 * reader's first `'data'` (or `'readable'`) listener starts the flow, and nothing is read
 * before it listens. A stream left paused would ignore that listener; one left flowing would
 * drop bytes nobody listens to. Node's http client does the same when it hands a socket on.
 */
export function resetReadingMode(socket: Socket): void {
  socket.pause();
  // Typed read-only, but settable: Node documents null as "no mechanism chosen yet".
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
}
