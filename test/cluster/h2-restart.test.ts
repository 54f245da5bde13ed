import { once } from 'node:events';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { testCerts } from '../support/certs.js';
import { getVia } from './support/clients.js';
import { Load } from './support/load.js';

const CONCURRENCY = 16;
/** The upstream's SETTINGS_MAX_CONCURRENT_STREAMS: 16 requests at a time need 4 sessions. */
const STREAM_LIMIT = 4;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One generation of the upstream: an h2 server answering every request with its name. */
interface Upstream {
  readonly server: http2.Http2SecureServer;
  readonly sessions: http2.ServerHttp2Session[];
  /**
   * Stops as an instance does at a restart: accepts no new connection, and says GOAWAY on every
   * session, those whose TLS handshake is still under way included (Node's `session.close()`).
   */
  drain(): void;
}

async function startUpstream(name: string, port = 0): Promise<Upstream & { port: number }> {
  const certs = testCerts();
  const server = http2.createSecureServer({ cert: certs.server.cert, key: certs.server.key, settings: { maxConcurrentStreams: STREAM_LIMIT } });
  const sessions: http2.ServerHttp2Session[] = [];
  let draining = false;
  server.on('session', (session) => {
    session.on('error', () => undefined);
    sessions.push(session);
    if (draining) session.close();
  });
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    // Answered a turn later, so that streams overlap as they do under load.
    setImmediate(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end(name);
    });
  });
  server.on('tlsClientError', () => undefined);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const drain = (): void => {
    draining = true;
    server.close();
    for (const session of sessions) if (!session.closed) session.close();
  };
  const upstream = { server, sessions, drain, port: (server.address() as AddressInfo).port };
  cleanups.push(async () => {
    for (const session of sessions) session.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return upstream;
}

describe('an HTTP/2 upstream restarted with GOAWAY under load', () => {
  it('loses no idempotent request, and the sessions opened after the restart are what the stream limit needs, + 1 at most', async () => {
    const before = await startUpstream('before');
    const pool = new ConnectionPool();
    cleanups.push(() => pool.close({ timeout: '5s' }));
    const retried: string[] = [];
    pool.events$.subscribe((event) => {
      if (event.type === 'retry') retried.push(event.reason);
    });
    const dispatcher = pool.dispatcher({ http2: 'always', tls: { ca: testCerts().ca.cert } });
    const load = new Load(CONCURRENCY, getVia(dispatcher, `https://127.0.0.1:${before.port}/`)).start();
    cleanups.push(() => load.stop());
    await load.whenCompleted(400);
    expect(before.sessions.length).toBeGreaterThanOrEqual(CONCURRENCY / STREAM_LIMIT);

    // The new instance takes the port; the old one says GOAWAY on every session (the streams
    // it has taken finish, new ones go elsewhere) and closes once they are done.
    before.server.close();
    const after = await startUpstream('after', before.port);
    before.drain();
    await load.whenCompleted(400);
    const since = load.mark();
    await load.whenCompleted(400);
    await load.stop();

    // Node's GOAWAY says no stream was processed: those in flight were sent again, none lost.
    expect(retried.length).toBeGreaterThan(0);
    for (const reason of retried) expect(['goaway', 'stream-refused']).toContain(reason);
    expect(load.failures).toEqual([]);
    // The new instance serves everything by now.
    expect([...since().keys()]).toEqual(['after']);
    expect(after.sessions.length).toBeGreaterThanOrEqual(CONCURRENCY / STREAM_LIMIT);
    expect(after.sessions.length, `sessions opened after the restart: ${after.sessions.length}`).toBeLessThanOrEqual(CONCURRENCY / STREAM_LIMIT + 1);
  });
});
