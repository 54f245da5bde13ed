import type { Lease } from '../pool/index.js';
import type { SocketTransport } from '../transport/index.js';
import { parseKeepAliveTimeout } from './keep-alive-hint.js';
import { isHeaderName, listsCloseOption } from './raw-headers.js';

const KEEP_ALIVE = Buffer.from('keep-alive', 'latin1');
const CONNECTION = Buffer.from('connection', 'latin1');

/**
 * What one HTTP/1.1 exchange of the dispatcher learns about its connection, and what it then
 * does with the lease: give the connection back for the next request, or not.
 */
export class H1ConnectionState {
  /** The server's Keep-Alive timeout less the margin, from this response. */
  idleTimeout: number | undefined = undefined;
  /** The response said `Connection: close`. */
  closeAfter = false;
  /** undici wrote the whole request. */
  requestSent = false;

  /** Forgets what an earlier attempt learnt. */
  reset(): void {
    this.idleTimeout = undefined;
    this.closeAfter = false;
    this.requestSent = false;
  }

  /**
   * Reads `Keep-Alive` (the server's timeout, less `marginMs`) and `Connection` (`close`) of a
   * final response: both names are 10 bytes long, which skips the other headers cheaply.
   */
  readResponseHeaders(rawHeaders: Buffer[], marginMs: number): void {
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i] as Buffer;
      if (name.length !== 10) continue;
      if (isHeaderName(name, KEEP_ALIVE)) {
        const hintMs = parseKeepAliveTimeout(String(rawHeaders[i + 1]));
        this.idleTimeout = hintMs === undefined ? undefined : hintMs - marginMs;
      } else if (isHeaderName(name, CONNECTION) && listsCloseOption(rawHeaders[i + 1] as Buffer)) {
        this.closeAfter = true;
      }
    }
  }

  /**
   * Gives the lease back once undici is done with the connection: at once in the common case
   * (undici keeps the socket for the next request), else after undici has decided whether the
   * socket lives on (`failed`: the exchange ended in an error; `resetAsked`: the request asked
   * for the connection to close after it).
   */
  giveBack(lease: Lease, transport: SocketTransport, failed: boolean, resetAsked: boolean): void {
    const idleTimeout = this.idleTimeout;
    transport.idleTimeout = idleTimeout;
    if (!failed && this.requestSent && !this.closeAfter && !resetAsked && !(idleTimeout !== undefined && idleTimeout <= 0)) {
      // (An HTTP/1.0 response without keep-alive is the exception nobody can see from here:
      // undici closes the socket just after, the pool sees it close, and a request that got
      // it meanwhile is sent again, as never written.)
      lease.release();
      return;
    }
    // undici destroys the socket right after this report after `Connection: close`, a request
    // body still being written, a `reset` request...: look once it has.
    queueMicrotask(() => {
      if (failed || transport.socket.destroyed || (idleTimeout !== undefined && idleTimeout <= 0)) lease.noNewExchanges();
      lease.release();
    });
  }
}
