import { once } from 'node:events';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { handleEmbeddedRequest, type EmbeddedRequest, type EmbeddedResponse } from './embedded-routes.js';
import { createSelfSignedCertificate } from './self-signed-certificate.js';

/** Options of {@link EmbeddedUpstream.start}. */
export interface EmbeddedUpstreamOptions {
  /** The loopback address to listen on. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Also serve HTTP/2 (and HTTP/1.1) over TLS with a self-signed certificate. Default true. */
  readonly tls?: boolean;
}

const ONE_YEAR_MS = 365 * 86_400_000;

/**
 * The upstream the service forwards to when no `UPSTREAM_URL` is given, in the same process,
 * on loopback, so that `npm start` shows pooling at once. Routes: see `EMBEDDED_ROUTES`.
 *
 * - `http1Url`: HTTP/1.1 in clear, the proxy's target. Node's default server keep-alive (5 s)
 *   is kept on purpose: its `Keep-Alive: timeout=5` header shows the pool honouring a server's
 *   hint (connections are evicted a second before the server would drop them).
 * - `tlsUrl`: the same routes over TLS, HTTP/2 by ALPN and HTTP/1.1 otherwise, with a
 *   certificate made at start (`certificate`, to trust as a CA). The service forwards to it
 *   when `UPSTREAM_HTTP2` is `auto` or `always` (over the pool's undici dispatcher).
 */
export class EmbeddedUpstream {
  #closed: Promise<void> | undefined;

  private constructor(
    readonly http1Url: URL,
    readonly tlsUrl: URL | null,
    /** The TLS endpoint's certificate (PEM), or null without TLS. */
    readonly certificate: string | null,
    private readonly servers: ReadonlyArray<http.Server | http2.Http2SecureServer>,
    /** Open connections (and HTTP/2 sessions), cut on close so that it never waits for a client. */
    private readonly sockets: ReadonlySet<Socket>,
    private readonly sessions: ReadonlySet<http2.ServerHttp2Session>,
  ) {}

  /** Starts the servers on free loopback ports. */
  static async start(options: EmbeddedUpstreamOptions = {}): Promise<EmbeddedUpstream> {
    const host = options.host ?? '127.0.0.1';
    const sockets = new Set<Socket>();
    const sessions = new Set<http2.ServerHttp2Session>();
    const track = (socket: Socket): void => {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.once('close', () => sockets.delete(socket));
    };

    const plain = http.createServer((req, res) => serve(req, res));
    plain.on('connection', track);
    plain.on('clientError', (_error, socket) => socket.destroy());
    const http1Url = await listen(plain, host, 'http:');

    let secure: http2.Http2SecureServer | null = null;
    let tlsUrl: URL | null = null;
    let certificate: string | null = null;
    if (options.tls ?? true) {
      const names = host === '127.0.0.1' ? ['localhost', '127.0.0.1', '::1'] : ['localhost', host];
      const { cert, key } = createSelfSignedCertificate({ names, validForMs: ONE_YEAR_MS });
      secure = http2.createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => serve(req, res));
      secure.on('secureConnection', track);
      secure.on('session', (session: http2.ServerHttp2Session) => {
        sessions.add(session);
        session.on('error', () => session.destroy());
        session.once('close', () => sessions.delete(session));
      });
      secure.on('tlsClientError', () => undefined);
      tlsUrl = await listen(secure, host, 'https:');
      certificate = cert;
    }

    return new EmbeddedUpstream(http1Url, tlsUrl, certificate, secure === null ? [plain] : [plain, secure], sockets, sessions);
  }

  /** Stops listening and closes every connection; resolves once the servers are closed. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const closing = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      for (const session of [...this.sessions]) session.destroy();
      for (const socket of [...this.sockets]) socket.destroy();
      await Promise.all(closing);
    })();
    return this.#closed;
  }
}

async function listen(server: http.Server | http2.Http2SecureServer, host: string, protocol: 'http:' | 'https:'): Promise<URL> {
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return new URL(`${protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`);
}

function serve(request: EmbeddedRequest, response: EmbeddedResponse & { headersSent: boolean; destroy(): void }): void {
  handleEmbeddedRequest(request, response).catch(() => {
    if (!response.headersSent) {
      response.writeHead(500, { 'Content-Type': 'application/json' });
      response.end('{"error":"Internal Server Error"}');
    } else {
      response.destroy();
    }
  });
}
