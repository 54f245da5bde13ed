import { once } from 'node:events';
import * as net from 'node:net';

/** An upstream that answers `/evil/<name>` with the raw bytes of a scenario, and anything else properly. */
export interface MaliciousUpstream {
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** The request targets received, with the connection each came on (1-based). */
  readonly received: Array<{ readonly connection: number; readonly target: string }>;
  /** Writes `bytes` on every connection still open (stray bytes into idle pooled connections). */
  writeToOpenConnections(bytes: string): number;
  close(): Promise<void>;
}

/**
 * Starts it. A request to `/evil/<name>` gets `scenarios[name]` (latin1), and the connection is
 * left open: whatever the gateway does about it, it must find out itself rather than wait for
 * a close. Any other request gets `200` with a small JSON body naming its target.
 */
export async function startMaliciousUpstream(scenarios: Readonly<Record<string, string>>): Promise<MaliciousUpstream> {
  const received: Array<{ connection: number; target: string }> = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    const connection = ++accepted;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n\r\n'); end !== -1; end = buffer.indexOf('\r\n\r\n')) {
        const head = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        const target = head.split(' ', 2)[1] ?? '/';
        received.push({ connection, target });
        const evil = /^\/evil\/([^/?]+)/.exec(target)?.[1];
        if (evil !== undefined) {
          socket.write(Buffer.from(scenarios[evil] ?? '', 'latin1'));
          continue;
        }
        const body = JSON.stringify({ target, connection });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    received,
    writeToOpenConnections(bytes) {
      for (const socket of sockets) socket.write(Buffer.from(bytes, 'latin1'));
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
