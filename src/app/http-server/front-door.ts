import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { refuseRequest } from '../proxy/proxy-error.response.js';
import { isFramingRefusal, requestFramingOf } from '../proxy/request-framing.js';
import type { ClientConnections } from './client-connections.js';

/**
 * The HTTP server's request listener, in front of the application (Express and Nest): it sees
 * every request first, in the order Node's parser reads them off a connection, before any
 * routing, middleware or asynchronous step.
 *
 * - It counts the request against its connection (see {@link ClientConnections}).
 * - It refuses a request whose framing is ambiguous (`requestFramingOf`: 400, or 501 for a
 *   transfer coding the gateway does not forward) and closes its connection: the bytes after
 *   it cannot be told apart from its body, so neither they nor a request pipelined behind it
 *   reach the application, whatever route they name.
 */
export function frontDoor(application: RequestListener, connections: ClientConnections): RequestListener {
  const closing = new WeakSet<Socket>();
  return (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    // A request pipelined behind a refused one, or on a connection refused at the cap: the
    // connection is closing once its refusal is written, and this request is not served.
    if (closing.has(socket) || connections.isRefused(socket)) return;
    connections.requestStarted(socket);
    response.once('close', () => connections.requestEnded(socket));
    const framing = requestFramingOf(request);
    if (isFramingRefusal(framing)) {
      closing.add(socket);
      refuseRequest(request, response, framing.status, framing.code, framing.message);
      return;
    }
    application(request, response);
  };
}
