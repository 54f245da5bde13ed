import type { IncomingMessage } from 'node:http';
import { finished, type Readable } from 'node:stream';

/** The client's request body ended before it was complete: what was forwarded must not count as a request. */
export class RequestBodyCutError extends Error {
  readonly code = 'ERR_REQUEST_BODY_CUT';
  constructor() {
    super('The client request body was cut short.');
    this.name = 'RequestBodyCutError';
  }
}

/**
 * Calls `onCut` (once) if the client's request body does not arrive whole: the client went
 * away, its connection broke, or Node's parser refused the rest of it (bad chunk framing).
 * It may already have happened before the proxy looked: Node destroys an aborted request
 * without an 'error' event when nobody listened yet, and a `pipe()` from it then neither
 * ends nor fails. Both upstream clients use this so that a cut body is never finished on the
 * upstream side (a chunked body terminated, an h2 stream ended): the upstream request is
 * abandoned instead (connection closed, or stream reset).
 */
export function onRequestBodyCut(body: Readable, onCut: (error: RequestBodyCutError) => void): void {
  finished(body, { writable: false }, (error) => {
    // A client's request says itself whether all of it came; another stream, by ending.
    const whole = 'complete' in body ? (body as IncomingMessage).complete : error === undefined || error === null;
    if (!whole) onCut(new RequestBodyCutError());
  });
}
