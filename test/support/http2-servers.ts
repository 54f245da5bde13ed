import { once } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { testCerts } from './certs.js';
import { LOOPBACK } from './local-servers.js';

/** One stream the server received. */
export interface ReceivedStream {
  /** Index of its session in `sessions`. */
  readonly session: number;
  readonly id: number;
  readonly method: string;
  readonly path: string;
}

/** An HTTP/2 server over TLS (test CA) on loopback, that records its sessions and streams. */
export interface Http2TestServer {
  readonly server: http2.Http2SecureServer;
  readonly port: number;
  /** `https://127.0.0.1:<port>` (the test certificate names 127.0.0.1). */
  readonly origin: string;
  /** Server sessions, in accept order. */
  readonly sessions: http2.ServerHttp2Session[];
  /** Every stream, in arrival order. */
  readonly streams: ReceivedStream[];
  /** The most streams open at once on one session, so far. */
  readonly maxConcurrentPerSession: number[];
  close(): Promise<void>;
}

/** What the test's handler gets for each stream. */
export type Http2StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void;

/**
 * Starts an HTTP/2 server (TLS, ALPN `h2`; with `allowHTTP1`, also `http/1.1`) with the test
 * server certificate. Streams' errors (refused, reset) are expected in these tests and ignored.
 */
export async function startHttp2Server(
  handler: Http2StreamHandler,
  options: { settings?: http2.Settings; allowHTTP1?: boolean; onHttp1?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void } = {},
): Promise<Http2TestServer> {
  const certs = testCerts();
  const server = http2.createSecureServer({
    cert: certs.server.cert,
    key: certs.server.key,
    allowHTTP1: options.allowHTTP1 ?? false,
    ...(options.settings ? { settings: options.settings } : {}),
  });
  const sessions: http2.ServerHttp2Session[] = [];
  const streams: ReceivedStream[] = [];
  const maxConcurrentPerSession: number[] = [];
  const open: number[] = [];
  server.on('session', (session) => {
    session.on('error', () => undefined);
    sessions.push(session);
    maxConcurrentPerSession.push(0);
    open.push(0);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const index = sessions.indexOf(stream.session as http2.ServerHttp2Session);
    open[index] = (open[index] ?? 0) + 1;
    maxConcurrentPerSession[index] = Math.max(maxConcurrentPerSession[index] ?? 0, open[index] ?? 0);
    stream.once('close', () => {
      open[index] = (open[index] ?? 1) - 1;
    });
    streams.push({ session: index, id: stream.id ?? -1, method: String(headers[':method']), path: String(headers[':path']) });
    handler(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  if (options.onHttp1) {
    const onHttp1 = options.onHttp1;
    server.on('request', (req, res) => {
      if (req.httpVersionMajor === 1) onHttp1(req, res);
    });
  }
  server.on('tlsClientError', () => undefined);
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    origin: `https://${LOOPBACK}:${port}`,
    sessions,
    streams,
    maxConcurrentPerSession,
    async close() {
      for (const session of sessions) session.destroy();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

/** A TCP relay that can stop passing bytes (a peer that goes silent, as behind a dead NAT). */
export interface StallingRelay {
  readonly port: number;
  /**
   * Stops passing bytes and FINs both ways, on every connection, from now on: neither side
   * hears anything more, not even a close (only `close()` ends the relay's connections).
   */
  stall(): void;
  close(): Promise<void>;
}

/** Starts a TCP relay on loopback to `targetPort`. */
export async function startStallingRelay(targetPort: number): Promise<StallingRelay> {
  const pairs: Array<[net.Socket, net.Socket]> = [];
  let stalled = false;
  // Half-open, so that a FIN is passed on only while not stalled (a stalled one is swallowed).
  const relay = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: LOOPBACK, port: targetPort, allowHalfOpen: true });
    client.on('end', () => {
      if (!stalled) upstream.end();
    });
    upstream.on('end', () => {
      if (!stalled) client.end();
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk) => {
      if (!stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!stalled) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    pairs.push([client, upstream]);
  });
  relay.listen(0, LOOPBACK);
  await once(relay, 'listening');
  return {
    port: (relay.address() as AddressInfo).port,
    stall() {
      stalled = true;
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      const closed = once(relay, 'close');
      relay.close();
      await closed;
    },
  };
}
