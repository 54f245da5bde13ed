import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { ConnectError } from './errors.js';
import { discardSocket } from './socket-state.js';

/** The event that says a socket is ready: `'connect'` (TCP) or `'secureConnect'` (TLS handshake done and verified). */
export type ReadyEvent = 'connect' | 'secureConnect';

/**
 * Opens a socket and waits until it is ready, honouring `signal` all along: an abort
 * destroys the socket and rejects with the signal's reason (the pool's own error:
 * `ERR_CONNECT_TIMEOUT`, `ERR_ACQUIRE_ABORTED`, `ERR_POOL_CLOSED`). A failure rejects with a
 * {@link ConnectError} that keeps Node's code and names `target`.
 *
 * `adopt` runs synchronously inside the ready event, so the socket is never without an
 * `'error'` listener: an error Node emits on the next tick would otherwise crash the process
 * before an `await` resumed.
 *
 * @param target - the redacted address, for messages.
 */
export function establish<T>(
  open: () => Socket,
  readyEvent: ReadyEvent,
  signal: AbortSignal,
  target: string,
  adopt: (socket: Socket) => T | Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let socket: Socket;
    try {
      socket = open();
    } catch (error) {
      // Options Node rejects up front (a bad key, an unknown TLS version...).
      reject(new ConnectError(target, error instanceof Error ? error : new Error(String(error))));
      return;
    }
    const fail = (error: unknown): void => {
      detach();
      discardSocket(socket);
      reject(error);
    };
    const onReady = (): void => {
      let adopted: T | Promise<T>;
      try {
        adopted = adopt(socket);
      } catch (error) {
        fail(error);
        return;
      }
      detach();
      resolve(adopted);
    };
    const onError = (error: Error): void => fail(new ConnectError(target, error));
    // Node reports failures with 'error' first; this covers a close without one.
    const onClose = (): void =>
      fail(new ConnectError(target, Object.assign(new Error('the connection closed before it was established'), { code: 'ECONNRESET' })));
    const onAbort = (): void => fail(signal.reason);
    const detach = listenUntilSettled(socket, { [readyEvent]: onReady, error: onError, close: onClose }, signal, onAbort);
  });
}

/**
 * The listener wiring of every step of a connect (the socket's, the proxy tunnel's, the
 * HTTP/2 session's): `listeners` on `emitter` and `onAbort` on `signal`, until the returned
 * `detach()` removes them all, which the step calls as soon as it has settled either way.
 */
export function listenUntilSettled(
  emitter: EventEmitter,
  listeners: Readonly<Record<string, (...args: never[]) => void>>,
  signal: AbortSignal,
  onAbort: () => void,
): () => void {
  const entries = Object.entries(listeners) as Array<[string, (...args: unknown[]) => void]>;
  for (const [event, listener] of entries) emitter.on(event, listener);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    for (const [event, listener] of entries) emitter.removeListener(event, listener);
    signal.removeEventListener('abort', onAbort);
  };
}
