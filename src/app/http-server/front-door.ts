import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { refuseRequest } from '../proxy/proxy-error.response.js';
import { isProxyTarget } from '../proxy/proxy-path.js';
import { isFramingRefusal, requestFramingOf } from '../proxy/request-framing.js';
import { ROUTES } from '../routes.js';
import type { ClientConnections } from './client-connections.js';

/** The routes the front door serves itself, without Express and Nest (set once the application is up). */
export interface FrontDoorRoutes {
  /** `/proxy/*`: the proxy's request listener, or null until it is wired (Express answers meanwhile). */
  proxy: RequestListener | null;
}

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
 * - It hands `/proxy/*` to the proxy (`routes.proxy`) itself: the proxy is the service's hot
 *   path, and Express's router and Nest's pipeline cost it more than the forwarding does
 *   (bench/gateway.js). Every other route goes to the application.
 */
export function frontDoor(application: RequestListener, connections: ClientConnections, routes: FrontDoorRoutes): RequestListener {
  const closing = new WeakSet<Socket>();
  // One listener for every response (`this` is the response), not a closure per request.
  function onResponseClose(this: ServerResponse): void {
    connections.requestEnded(this.req.socket);
  }
  return (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    // A request pipelined behind a refused one, or on a connection refused at the cap: the
    // connection is closing once its refusal is written, and this request is not served.
    if (closing.has(socket) || connections.isRefused(socket)) return;
    connections.requestStarted(socket);
    // 'close' comes once: on(), without once()'s wrapper.
    response.on('close', onResponseClose);
    const framing = requestFramingOf(request);
    if (isFramingRefusal(framing)) {
      closing.add(socket);
      refuseRequest(request, response, framing.status, framing.code, framing.message);
      return;
    }
    const proxy = routes.proxy;
    if (proxy !== null && isProxyTarget(request.url ?? '/', ROUTES.proxy)) proxy(request, response);
    else application(request, response);
  };
}
