import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { LOOPBACK } from './local-servers.js';

/** An HTTP/1.1 server on loopback that counts the connections it accepted. */
export interface HttpTestServer {
  readonly server: http.Server | https.Server;
  readonly port: number;
  readonly origin: string;
  /** Server-side sockets, in accept order. */
  readonly sockets: Socket[];
  close(): Promise<void>;
}

/** Starts an HTTP (or, with `tls`, HTTPS) server on 127.0.0.1. */
export async function startHttpServer(
  handler: http.RequestListener,
  options: { tls?: https.ServerOptions; keepAliveTimeout?: number } = {},
): Promise<HttpTestServer> {
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  const sockets: Socket[] = [];
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    socket.on('error', () => undefined);
    sockets.push(socket);
  });
  if (options.tls) server.on('tlsClientError', () => undefined);
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    origin: `${options.tls ? 'https' : 'http'}://${LOOPBACK}:${port}`,
    sockets,
    async close() {
      server.closeAllConnections();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

/** Reads a whole response body as text. */
export async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** `http.get` as a promise of `{ res, body, req }`. */
export function get(url: string, options: http.RequestOptions): Promise<{ res: http.IncomingMessage; body: string; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, options, (res) => {
      readBody(res).then((body) => resolve({ res, body, req }), reject);
    });
    req.on('error', reject);
  });
}
