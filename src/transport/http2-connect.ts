import * as http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { SchedulerLike } from 'rxjs';
import type { Address, ConnectionHooks } from '../pool/index.js';
import { ConnectError } from './errors.js';
import { listenUntilSettled } from './establish.js';
import { Http2SessionTransport, type Http2SessionSettings } from './http2-session-transport.js';

/** What {@link openHttp2Session} needs besides the socket. */
export interface Http2ConnectContext {
  readonly signal: AbortSignal;
  readonly scheduler: SchedulerLike;
  readonly hooks?: ConnectionHooks;
}

/**
 * Starts an HTTP/2 session on `socket` (a TLS socket that negotiated `h2`) and resolves with
 * its transport once the peer's first SETTINGS has arrived: from then on the session's
 * stream limit is the peer's, not a guess. Honours `signal` until then (an abort destroys
 * the session and rejects with the signal's reason); a failure rejects with a
 * {@link ConnectError} naming the (redacted) address.
 *
 * Must be called synchronously in the socket's ready event: the session takes over the
 * socket's errors at once.
 *
 * @param tunnel - the proxy socket under `socket`, if any (closed with the session).
 */
export function openHttp2Session(
  socket: Socket,
  address: Address,
  settings: Http2SessionSettings,
  context: Http2ConnectContext,
  tunnel?: Socket,
): Promise<Http2SessionTransport> {
  const target = String(address);
  const authority = `https://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const session = http2.connect(authority, {
    createConnection: () => socket,
    settings: { enablePush: false, initialWindowSize: settings.initialWindowSize },
  });
  const transport = new Http2SessionTransport(session, address, settings, context, { socket, ...(tunnel !== undefined ? { tunnel } : {}) });
  const { signal } = context;
  return new Promise<Http2SessionTransport>((resolve, reject) => {
    const fail = (error: unknown): void => {
      detach();
      transport.close(); // the session, its socket and the tunnel under it
      reject(error);
    };
    const onSettings = (): void => {
      detach();
      // A session-wide window as large as undici's: the default (64 KiB) throttles large bodies.
      try {
        session.setLocalWindowSize(settings.connectionWindowSize);
      } catch {
        // Only a session already closing refuses; its 'close' tells the pool.
      }
      resolve(transport);
    };
    const onError = (error: Error): void => fail(new ConnectError(target, error));
    const onClose = (): void =>
      fail(
        new ConnectError(
          target,
          Object.assign(new Error('the HTTP/2 session closed before the server sent its SETTINGS'), { code: 'ECONNRESET' }),
        ),
      );
    const onAbort = (): void => fail(signal.reason);
    const detach = listenUntilSettled(session, { remoteSettings: onSettings, error: onError, close: onClose }, signal, onAbort);
    if (signal.aborted) onAbort();
  });
}
