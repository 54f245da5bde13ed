import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import { ConnectError } from '../transport/index.js';

/**
 * The error a client of Node's http.Agent or undici's Agent would have got for a failed
 * connect: the socket's own (an `Error` with `code` `ECONNREFUSED`, `EPROTO`, ...; the error a
 * `checkServerIdentity` returned; Happy Eyeballs' `AggregateError`), not the pool's
 * {@link ConnectError} around it. Which pooled address it was stays on it as the
 * non-enumerable `connectTarget` (redacted). Any other error is returned as it is.
 */
export function asPeerConnectError(error: Error): Error {
  if (!(error instanceof ConnectError) || !(error.cause instanceof Error)) return error;
  const original = isHandshakeFailure(error.cause) ? asWriteFailure(error.cause) : error.cause;
  if (!Object.prototype.hasOwnProperty.call(original, 'connectTarget')) {
    Object.defineProperty(original, 'connectTarget', { value: error.target, enumerable: false, configurable: true, writable: true });
  }
  return original;
}

/** An OpenSSL failure of the TLS handshake (an alert, no common version or cipher). */
function isHandshakeFailure(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_SSL_');
}

/**
 * A handshake failure as Node's agent reports it: the request's head is written to the TLS
 * socket at once, before the handshake is done, and OpenSSL's failure surfaces as that
 * write's error (`write EPROTO <OpenSSL's message>`, code `EPROTO`), which clients check for.
 * The pool connects before anything is written, and sees the handshake's own error.
 */
function asWriteFailure(error: Error): Error {
  return Object.assign(new Error(`write EPROTO ${error.message}`), { errno: -osConstants.errno.EPROTO, code: 'EPROTO', syscall: 'write' });
}

/**
 * What connecting to port 0 of `host` gives: the pool refuses such an address, and Node's and
 * undici's clients try it and report what the operating system says (on Linux,
 * `ECONNREFUSED`); so does the dispatcher.
 */
export function connectToPortZero(host: string): Promise<Error> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: 0 });
    socket.once('error', (error) => resolve(error));
    socket.once('connect', () => {
      // No system accepts a connection on port 0; should one, it is not one to use.
      socket.destroy();
      resolve(Object.assign(new Error(`connect to ${host}:0 is not possible: port 0 names no service`), { code: 'ECONNREFUSED' }));
    });
  });
}
