/**
 * A small demonstration until the reference gateway service lands: it starts a TCP echo
 * server on loopback, opens connections to it through the pool, and prints the pool's
 * events and cleanup ticks as they happen, until keep-alive has closed everything.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { ConnectionPool, type Connector, type Transport } from './index.js';

const KEEP_ALIVE_MS = 1_500;

/** A connector for the demo: a plain TCP socket as the transport. */
const tcpConnector: Connector = {
  async connect(address, { signal }) {
    const socket = connect({ host: address.host, port: address.port, signal });
    await once(socket, 'connect');
    const transport: Transport & { socket: Socket } = {
      socket,
      close: () => socket.destroy(),
      isHealthy: () => !socket.destroyed && socket.readyState === 'open',
      on: (event, listener) => socket.on(event, listener),
      off: (event, listener) => socket.off(event, listener),
    };
    return transport;
  },
};

async function main(): Promise<void> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `tcp://127.0.0.1:${port}`;

  const pool = new ConnectionPool({ connector: tcpConnector, keepAlive: KEEP_ALIVE_MS, maxIdleConnections: 2 });
  const started = pool.options.scheduler.now();
  const ms = (at: number): string => `+${String(at - started).padStart(5)} ms`;
  pool.events$.subscribe((event) => {
    const where = 'connectionId' in event ? ` ${event.connectionId} ${event.address}` : '';
    const extra = 'reason' in event ? ` (${event.reason})` : 'reused' in event ? ` (reused: ${event.reused})` : '';
    console.log(`${ms(event.at)}  ${event.type}${where}${extra}`);
  });
  pool.cleanupTicks$.subscribe((tick) => {
    console.log(`${ms(tick.at)}  cleanup tick: evicted ${tick.evicted}, next in ${tick.delay < 0 ? 'never (stopped)' : `${tick.delay} ms`}`);
  });

  console.log(`Echo server on ${url}; pool keepAlive ${KEEP_ALIVE_MS} ms, maxIdleConnections 2.\n`);
  console.log('1. Three requests in sequence share one connection:');
  for (let i = 0; i < 3; i++) {
    const lease = await pool.acquire(url);
    const socket = (lease.transport as Transport & { socket: Socket }).socket;
    socket.write(`ping ${i}`);
    const [reply] = (await once(socket, 'data')) as [Buffer];
    console.log(`           echo: ${reply.toString()}`);
    lease.release();
  }

  console.log('\n2. Four at once open four connections; two stay idle (maxIdleConnections 2):');
  const leases = await Promise.all([1, 2, 3, 4].map(() => pool.acquire(url)));
  for (const lease of leases) lease.release();
  console.log('\n   connections now:', pool.connections().map((c) => `${c.id}:${c.state}`).join(' '));

  console.log(`\n3. Waiting for keep-alive (${KEEP_ALIVE_MS} ms) to close the idle ones...`);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (pool.connectionCount() === 0) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
  await pool.close();
  server.close();
  console.log('\nThe pool is empty and closed. The full gateway service replaces this demo.');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
