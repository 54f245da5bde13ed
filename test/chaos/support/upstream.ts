import { once } from 'node:events';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { testCerts } from '../../support/certs.js';
import { LOOPBACK } from '../../support/local-servers.js';
import { responseBody } from './load.js';

/** The chaos upstream: answers `/r/<index>?size=<n>` with {@link responseBody}, over HTTP/1.1, HTTPS or HTTP/2. */
export interface ChaosUpstream {
  readonly port: number;
  /** Requests answered. */
  readonly answered: () => number;
  /**
   * Destroys every connection it still holds. The proxy in front of it may have let go of one
   * without the upstream noticing yet (an HTTP/2 server's TLS handshake the proxy held and then
   * dropped waits for Node's 120 s handshake timeout): a client's check that the process's
   * file descriptors are back must not count the upstream's.
   */
  dropConnections(): Promise<void>;
  close(): Promise<void>;
}

type Answer = (method: string, url: string, requestBody: string) => { status: number; body: string };

const answer: Answer = (method, url, requestBody) => {
  const match = /^\/r\/(\d+)\?size=(\d+)$/.exec(url);
  if (!match) return { status: 404, body: 'unknown path' };
  return { status: 200, body: responseBody(Number(match[1]), method, requestBody.length, Number(match[2])) };
};

/**
 * Starts the upstream on 127.0.0.1: `'http'`, `'https'` (HTTP/1.1 over TLS, test CA) or `'h2'`
 * (HTTP/2 over TLS, HTTP/1.1 allowed too). Its own idle timeout is off: idle connections are
 * closed by the fault proxy in front of it, on the test's schedule.
 */
export async function startChaosUpstream(kind: 'http' | 'https' | 'h2'): Promise<ChaosUpstream> {
  let answered = 0;
  const sockets = new Set<Socket>();
  const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    let requestBody = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (requestBody += chunk));
    req.on('end', () => {
      const { status, body } = answer(req.method ?? 'GET', req.url ?? '', requestBody);
      answered++;
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
      if (req.method === 'HEAD') res.end();
      else res.end(body);
    });
    req.on('error', () => undefined);
  };
  let server: http.Server | https.Server | http2.Http2SecureServer;
  if (kind === 'http') {
    server = http.createServer(onRequest as http.RequestListener);
  } else {
    const certs = testCerts();
    const tls = { cert: certs.server.cert, key: certs.server.key };
    server = kind === 'https' ? https.createServer(tls, onRequest as http.RequestListener) : http2.createSecureServer({ ...tls, allowHTTP1: true }, onRequest);
    server.on('tlsClientError', () => undefined);
  }
  if (server instanceof http.Server) {
    server.keepAliveTimeout = 0;
    server.headersTimeout = 0;
    server.requestTimeout = 0;
  }
  if (kind === 'h2') (server as http2.Http2SecureServer).on('session', (session) => session.on('error', () => undefined));
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => undefined);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    answered: () => answered,
    async dropConnections() {
      const closing = [...sockets].map((socket) => (socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => undefined)));
      for (const socket of sockets) socket.destroy();
      await Promise.all(closing);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}
