import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { fileDescriptorsBackTo, openFileDescriptors } from '../support/open-files.js';
import { waitFor } from '../support/wait-for.js';
import { rawExchange } from './support/raw-client.js';

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await stopTestServices();
  for (const server of servers.splice(0)) server.close();
});

/** A slowloris client: connects, sends the start of a request head, then nothing more. */
async function slowClient(port: number, partial = 'GET /proxy/slow HTTP/1.1\r\nHost: gateway.test\r\nX-Slow: '): Promise<{ socket: net.Socket; closed: Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  const closed = once(socket, 'close').then(() => received);
  await once(socket, 'connect');
  if (partial !== '') socket.write(partial);
  return { socket, closed };
}

function probe(path = '/health/live'): string {
  return `GET ${path} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`;
}

describe('slow and idle clients (CLIENT_MAX_CONNECTIONS, CLIENT_HEADERS_TIMEOUT)', () => {
  it('300 slowloris connections against a cap of 100: at most 100 held, the probes still answer, every slow one closed by the head timeout, no descriptor left', async () => {
    const baseline = openFileDescriptors();
    const service = await startTestService({ CLIENT_MAX_CONNECTIONS: '100', CLIENT_HEADERS_TIMEOUT: '4s' });
    const afterStart = openFileDescriptors();

    const slow: Array<{ socket: net.Socket; closed: Promise<string> }> = [];
    for (let i = 0; i < 300; i++) {
      // Half send part of a head, half send nothing at all.
      slow.push(await slowClient(service.port, i % 2 === 0 ? undefined : ''));
      // Never more than the cap at once (the oldest is closed as the new one is accepted).
      expect(service.clientConnections.open).toBeLessThanOrEqual(100);
      if (i === 150) {
        // Mid-flood, with every slot taken: a probe gets in (it takes an idle slot) and is answered.
        const live = await rawExchange(service.port, probe(), { methods: ['GET'] });
        expect(live.responses.map((r) => r.status)).toEqual([200]);
      }
    }
    // Slots are taken over, oldest first: the service holds no more than the cap.
    await waitFor(() => service.clientConnections.open <= 100, 'the service to hold at most 100 client connections');
    expect(service.clientConnections.open).toBeLessThanOrEqual(100);
    // Made room for: all but the cap, less any the head timeout closed first on a slow machine.
    expect(service.clientConnections.stats.shed).toBeGreaterThan(0);
    // The server side holds at most 100 descriptors more than at start (plus the test's own client ends).
    const stillOpenHere = slow.filter(({ socket }) => !socket.closed).length;
    expect(openFileDescriptors() - afterStart).toBeLessThanOrEqual(100 + stillOpenHere + 10);

    for (const path of ['/health/live', '/health/ready', '/health/startup']) {
      const answer = await rawExchange(service.port, probe(path), { methods: ['GET'] });
      expect(answer.responses.map((r) => r.status)).toEqual([200]);
    }

    // Every slow connection is closed: the oldest to make room, the rest by the head timeout
    // (a 408 for those that had begun a request).
    const endings = await Promise.all(slow.map(({ closed }) => closed));
    expect(endings.filter((text) => text.startsWith('HTTP/1.1 408')).length).toBeGreaterThan(0);
    for (const text of endings) expect(text === '' || text.startsWith('HTTP/1.1 408 Request Timeout')).toBe(true);
    await waitFor(() => service.clientConnections.open === 0, 'the service to hold no client connection');
    await stopTestServices();
    expect(await fileDescriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline);
  });

  it('an idle keep-alive connection gives its place to a new one at the cap; a connection with a request in flight never does', async () => {
    // An upstream that takes requests and never answers: they stay in flight.
    const held = net.createServer((socket) => socket.on('error', () => undefined));
    servers.push(held);
    held.listen(0, '127.0.0.1');
    await once(held, 'listening');
    const service = await startTestService({
      UPSTREAM_URL: `http://127.0.0.1:${(held.address() as net.AddressInfo).port}`,
      CLIENT_MAX_CONNECTIONS: '3',
    });

    // One keep-alive connection, idle after its request.
    const idle = await slowClient(service.port, '');
    idle.socket.write('GET /health/live HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
    await waitFor(() => idle.socket.bytesRead > 0, 'the idle connection to be answered');
    // Two with a request in flight.
    const busy = [await slowClient(service.port, ''), await slowClient(service.port, '')];
    for (const { socket } of busy) socket.write('GET /proxy/held HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
    await waitFor(() => service.inFlight.count === 2, 'two requests in flight');

    // A new connection takes the idle one's place.
    const live = await rawExchange(service.port, probe(), { methods: ['GET'] });
    expect(live.responses.map((r) => r.status)).toEqual([200]);
    await idle.closed;
    expect(busy.every(({ socket }) => !socket.closed)).toBe(true);

    // Three busy now: a fourth connection is refused at once, in JSON, and closed.
    const third = await slowClient(service.port, '');
    third.socket.write('GET /proxy/held HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
    await waitFor(() => service.inFlight.count === 3, 'three requests in flight');
    const refused = await rawExchange(service.port, probe(), { methods: ['GET'] });
    expect(refused.responses.map((r) => r.status)).toEqual([503]);
    const [answer] = refused.responses;
    expect(answer?.headers).toContainEqual(['retry-after', '1']);
    expect(JSON.parse(answer?.body.toString() ?? '{}')).toMatchObject({ statusCode: 503, code: 'TOO_MANY_CONNECTIONS' });
    expect(service.clientConnections.stats.refused).toBe(1);
    expect(busy.every(({ socket }) => !socket.closed)).toBe(true);
  });
});
