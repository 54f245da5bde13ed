import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { testCerts } from '../../support/certs.js';
import { header, parseRequestAt, StrictParseError, type Framing } from './strict-http1.js';

/** A request the upstream received, as it parsed it. */
export interface RecordedRequest {
  /** Its position among all requests received (1-based). */
  readonly seq: number;
  /** Which upstream connection (HTTP/1.1) or session (h2) it came on, 1-based in accept order. */
  readonly connection: number;
  readonly method: string;
  readonly target: string;
  readonly host: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly framing: Framing | 'h2';
}

/** What the recording upstream answers (JSON): enough to tell whose request it answers. */
export interface RecordedAnswer {
  readonly seq: number;
  readonly connection: number;
  readonly method: string;
  readonly target: string;
  readonly authorization: string | null;
  readonly cookie: string | null;
  readonly body: string;
}

/** An upstream that records exactly what reaches it and answers every request it can parse. */
export interface RecordingUpstream {
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>` (h2). */
  readonly url: string;
  /** Every request parsed so far, in order. */
  readonly requests: RecordedRequest[];
  /** Bytes that did not parse as one well-framed request (HTTP/1.1), or malformed streams (h2). */
  readonly protocolErrors: string[];
  /** The raw bytes received on each connection (HTTP/1.1), in accept order. */
  readonly received: Buffer[];
  /** Connections (sessions) accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

function answerOf(request: RecordedRequest): RecordedAnswer {
  const value = (name: string): string | null => request.headers.find(([n]) => n === name)?.[1] ?? null;
  return {
    seq: request.seq,
    connection: request.connection,
    method: request.method,
    target: request.target,
    authorization: value('authorization'),
    cookie: value('cookie'),
    body: request.body.toString('latin1'),
  };
}

/**
 * An HTTP/1.1 upstream on a raw TCP server: it parses what arrives with the strict parser and
 * answers each request (`200`, JSON {@link RecordedAnswer}, Content-Length). Bytes that do not
 * parse are recorded in `protocolErrors`, answered 400 and the connection closed: a request
 * smuggled past the gateway shows up there, or as an extra entry of `requests`.
 */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const protocolErrors: string[] = [];
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const connection = received.push(Buffer.alloc(0));
    let buffer = Buffer.alloc(0);
    let offset = 0;
    socket.on('data', (chunk: Buffer) => {
      received[connection - 1] = Buffer.concat([received[connection - 1] as Buffer, chunk]);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        let parsed;
        try {
          parsed = parseRequestAt(buffer, offset);
        } catch (error) {
          if (!(error instanceof StrictParseError)) throw error;
          protocolErrors.push(`connection ${connection}: ${error.message}: ${JSON.stringify(buffer.subarray(offset).toString('latin1').slice(0, 200))}`);
          socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          socket.removeAllListeners('data');
          return;
        }
        if (parsed === null) return;
        offset = parsed.end;
        const { request: message } = parsed;
        const request: RecordedRequest = {
          seq: requests.length + 1,
          connection,
          method: message.method,
          target: message.target,
          host: header(message, 'host'),
          headers: message.headers,
          body: message.body,
          framing: message.framing,
        };
        requests.push(request);
        const json = JSON.stringify(answerOf(request));
        const head = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n`;
        socket.write(message.method === 'HEAD' ? head : head + json);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    protocolErrors,
    received,
    connections: () => received.length,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * The same over HTTP/2 (TLS with the test CA, ALPN `h2` only): each stream is recorded with
 * its headers and body, and answered with the same JSON. A stream whose `content-length`
 * disagrees with the DATA it carried is a protocol error.
 */
export async function startRecordingH2Upstream(): Promise<RecordingUpstream> {
  const certs = testCerts();
  const requests: RecordedRequest[] = [];
  const protocolErrors: string[] = [];
  const sessions: http2.ServerHttp2Session[] = [];
  const server = http2.createSecureServer({ cert: certs.server.cert, key: certs.server.key, allowHTTP1: false });
  server.on('session', (session) => {
    session.on('error', () => undefined);
    sessions.push(session);
  });
  server.on('tlsClientError', () => undefined);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const connection = sessions.indexOf(stream.session as http2.ServerHttp2Session) + 1;
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      // Node ends the readable side of a stream the peer reset too: that is no request received.
      if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) return;
      const body = Buffer.concat(chunks);
      const fields: Array<[string, string]> = [];
      for (const [name, value] of Object.entries(headers)) {
        if (name.startsWith(':') || value === undefined) continue;
        for (const one of Array.isArray(value) ? value : [String(value)]) fields.push([name, one]);
      }
      const declared = headers['content-length'];
      if (declared !== undefined && Number(declared) !== body.length) {
        protocolErrors.push(`session ${connection} stream ${stream.id}: content-length ${declared} but ${body.length} bytes of DATA`);
      }
      const request: RecordedRequest = {
        seq: requests.length + 1,
        connection,
        method: String(headers[':method']),
        target: String(headers[':path']),
        host: headers[':authority'],
        headers: fields,
        body,
        framing: 'h2',
      };
      requests.push(request);
      const json = JSON.stringify(answerOf(request));
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      stream.end(request.method === 'HEAD' ? undefined : json);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    protocolErrors,
    received: [],
    connections: () => sessions.length,
    async close() {
      for (const session of sessions) session.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
