import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Address, Connector, Lease, Transport } from '../../../src/pool/index.js';

/** A transport that is a plain TCP socket. */
export interface SocketTransport extends Transport {
  readonly socket: Socket;
}

/**
 * A tiny TCP connector for the Nest tests, until the real one (src/transport) lands: a
 * connect failure (ECONNREFUSED on a stopped server) rejects with Node's own error, and a
 * socket the peer closes is reported to the pool as `'close'`.
 */
export const tcpConnector: Connector = {
  async connect(address, { signal }) {
    return socketTransport(await openSocket(address, signal));
  },
};

/**
 * Connects, giving up when `signal` aborts. Kept apart from {@link socketTransport}, and not
 * `net.connect({ signal })` (Node keeps that listener until the socket closes): nothing the
 * transport keeps may reach the connect signal, since the pool's listener on it reaches the
 * lease, which then could never be garbage-collected, so a leak would never be detected.
 */
async function openSocket(address: Address, signal: AbortSignal): Promise<Socket> {
  const socket = connect({ host: address.host, port: address.port });
  const onAbort = (): void => {
    socket.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await once(socket, 'connect');
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function socketTransport(socket: Socket): SocketTransport {
  return {
    socket,
    close: () => socket.destroy(),
    isHealthy: () => !socket.destroyed && socket.readyState === 'open',
    on: (event, listener) => socket.on(event, listener),
    off: (event, listener) => socket.off(event, listener),
  };
}

/** The socket of a lease made by {@link tcpConnector}. */
export function socketOf(lease: Lease): Socket {
  return (lease.transport as SocketTransport).socket;
}

/** Writes `text` on the lease's socket and resolves with what the echo server sends back. */
export async function echo(lease: Lease, text: string): Promise<string> {
  const socket = socketOf(lease);
  socket.write(text);
  let received = '';
  while (received.length < text.length) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    received += chunk.toString();
  }
  return received;
}
