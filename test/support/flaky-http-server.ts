import { once } from 'node:events';
import * as net from 'node:net';
import { LOOPBACK } from './local-servers.js';

/** One request the flaky server read in full. */
export interface FlakyRequest {
  /** Which connection it came on (0: the first accepted). */
  readonly connection: number;
  /** Its place on that connection (0: the first). */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** How the server treats the n-th request of a connection: answer it, or drop the connection without a word. */
export type FlakyVerdict = 'answer' | 'close' | 'reset';

/** A raw HTTP/1.1 server whose connections go stale on cue. */
export interface FlakyHttpServer {
  readonly port: number;
  readonly origin: string;
  readonly requests: FlakyRequest[];
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A keep-alive HTTP/1.1 server (raw TCP, so that it can fail exactly where a test wants) that
 * asks `decide` what to do with each request once it has read it in full: `answer` it
 * (`200`, body `<connection>:<index> <method> <path> <body>`), or drop the connection as a
 * server does at its idle timeout, with a FIN (`close`) or a RST (`reset`), before any byte
 * of a response.
 */
export async function startFlakyHttpServer(decide: (request: FlakyRequest) => FlakyVerdict): Promise<FlakyHttpServer> {
  const requests: FlakyRequest[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    const connection = sockets.length;
    sockets.push(socket);
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1').split('\r\n');
        const [method = '', path = ''] = (head[0] ?? '').split(' ');
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (headers['transfer-encoding'] === 'chunked') {
          const last = buffered.indexOf('0\r\n\r\n', end + 4);
          if (last < 0) return;
          const body = dechunk(buffered.subarray(end + 4, last + 5).toString('latin1'));
          buffered = buffered.subarray(last + 5);
          if (!handle({ connection, index: index++, method, path, headers, body })) return;
          continue;
        }
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length).toString('latin1');
        buffered = buffered.subarray(end + 4 + length);
        if (!handle({ connection, index: index++, method, path, headers, body })) return;
      }
    });
    function handle(request: FlakyRequest): boolean {
      requests.push(request);
      const verdict = decide(request);
      if (verdict === 'close') {
        socket.destroy();
        return false;
      }
      if (verdict === 'reset') {
        socket.resetAndDestroy();
        return false;
      }
      const text = `${request.connection}:${request.index} ${request.method} ${request.path} ${request.body}`;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
      return true;
    }
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    origin: `http://${LOOPBACK}:${port}`,
    requests,
    connections: () => sockets.length,
    async close() {
      for (const socket of sockets) socket.destroy();
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
