import { afterEach, describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/index.js';
import { startTestService, stopTestServices, type TestService } from '../app/support/test-service.js';
import { VirtualClock } from '../app/support/virtual-clock.js';
import { rawExchange } from './support/raw-client.js';
import { startMaliciousUpstream, type MaliciousUpstream } from './support/malicious-upstream.js';

/** What an upstream answers that the gateway must not forward, each left open after it. */
const UNFORWARDABLE: Readonly<Record<string, string>> = {
  'switching-protocols': 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\nBYTES OF ANOTHER PROTOCOL',
  processing: 'HTTP/1.1 102 Processing\r\n\r\n',
  'interim-flood': 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(50),
  'early-hints-flood': 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n'.repeat(20),
  'status-of-four-digits': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  'status-below-100': 'HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok',
  'not-http': 'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'reason-with-control-characters': 'HTTP/1.1 200 <script>\x7f\r\nContent-Length: 2\r\n\r\nok',
  'header-with-control-character': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad: a\x01b\r\n\r\nok',
  'folded-header': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n\r\nok',
  'length-and-chunked': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
};

/** A well-framed answer followed, in the same packet, by a second one nobody asked for. */
const EXTRA_BYTES = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{"target":"/EVIL"}\n';

const CLIENTS = [
  { name: "the gateway's own HTTP/1.1 client", env: { UPSTREAM_HTTP2: 'never' } },
  { name: 'the undici dispatcher (HTTP/1.1)', env: { UPSTREAM_HTTP2: 'auto' } },
] as const;

/** Nothing the gateway answers may show how it is built. */
const TRACE = /\n\s+at |node_modules|\/src\/|\/dist\/|\/work\/|Error:/;

function get(target: string): string {
  return `GET ${target} HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer someone\r\nConnection: close\r\n\r\n`;
}

afterEach(async () => {
  await stopTestServices();
});

describe.each(CLIENTS)('a malicious upstream, through $name', ({ env }) => {
  let upstream: MaliciousUpstream;
  afterEach(async () => {
    await upstream.close();
  });

  /**
   * The service on a virtual clock that never moves: an answer that comes proves the gateway
   * found out by itself, long before UPSTREAM_TIMEOUT (which would need the clock to move).
   */
  async function start(): Promise<{ service: TestService; events: PoolEvent[] }> {
    upstream = await startMaliciousUpstream({ ...UNFORWARDABLE, 'extra-bytes': EXTRA_BYTES });
    const service = await startTestService({ ...env, UPSTREAM_URL: upstream.url, UPSTREAM_TIMEOUT: '30s', POOL_MAX_PER_ADDRESS: '1' }, { scheduler: new VirtualClock().scheduler });
    const events: PoolEvent[] = [];
    service.pool.events$.subscribe((event) => events.push(event));
    return { service, events };
  }

  /** Waits (on the pool's events, not the clock) until connection `id` has left the pool. */
  async function closed(events: PoolEvent[], id: string): Promise<void> {
    const { waitFor } = await import('../support/wait-for.js');
    await waitFor(() => events.some((e) => e.type === 'connection-closed' && e.connectionId === id), `connection ${id} to be closed`);
  }

  it.each(Object.keys(UNFORWARDABLE))('%s: 502 JSON at once, the connection closed and never reused, no trace', async (scenario) => {
    const { service, events } = await start();
    const from = events.length;
    const exchange = await rawExchange(service.port, get(`/proxy/evil/${scenario}`), { methods: ['GET'] });
    expect(exchange.parseError).toBeUndefined();
    expect(exchange.responses.map((r) => r.status)).toEqual([502]);
    const [response] = exchange.responses;
    const body = JSON.parse(response?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 502, error: 'Bad Gateway', code: 'UPSTREAM_PROTOCOL_ERROR', upstream: upstream.url });
    expect(response?.reason).toBe('Bad Gateway');
    expect(response?.body.toString()).not.toMatch(TRACE);
    expect(response?.body.toString()).not.toContain('script');

    const used = events.slice(from).filter((e) => e.type === 'connection-acquired').map((e) => e.connectionId as string);
    expect(used).toHaveLength(1);
    await closed(events, used[0] as string);

    // The next client gets its own answer, over another connection.
    const next = await rawExchange(service.port, get('/proxy/next'), { methods: ['GET'] });
    expect(next.responses.map((r) => r.status)).toEqual([200]);
    expect(JSON.parse(next.responses[0]?.body.toString() ?? '{}')).toEqual({ target: '/next', connection: 2 });
    const acquiredAfter = events.filter((e) => e.type === 'connection-acquired').map((e) => e.connectionId);
    expect(acquiredAfter.at(-1)).not.toBe(used[0]);
  });

  it('an answer followed by one nobody asked for: the first is forwarded, the rest never reaches anyone', async () => {
    const { service, events } = await start();
    const from = events.length;
    const first = await rawExchange(service.port, get('/proxy/evil/extra-bytes'), { methods: ['GET'] });
    expect(first.responses.map((r) => [r.status, r.body.toString()])).toEqual([[200, 'ok']]);
    const used = events.slice(from).filter((e) => e.type === 'connection-acquired').map((e) => e.connectionId as string);
    await closed(events, used[0] as string);
    const next = await rawExchange(service.port, get('/proxy/next'), { methods: ['GET'] });
    expect(JSON.parse(next.responses[0]?.body.toString() ?? '{}')).toEqual({ target: '/next', connection: 2 });
  });

  it('bytes an upstream sends on an idle pooled connection: the connection is closed, the next client gets its own answer', async () => {
    const { service, events } = await start();
    const first = await rawExchange(service.port, get('/proxy/first'), { methods: ['GET'] });
    expect(JSON.parse(first.responses[0]?.body.toString() ?? '{}')).toEqual({ target: '/first', connection: 1 });
    const [idle] = service.pool.connections();
    expect(idle?.state).toBe('idle');
    expect(upstream.writeToOpenConnections('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{"target":"/EVIL"}\n')).toBe(1);
    // Whether the stray bytes are seen while idle (the dispatcher's codec reads at all times)
    // or at the next reuse check (the gateway's own client's), the connection serves nobody again.
    const next = await rawExchange(service.port, get('/proxy/next'), { methods: ['GET'] });
    expect(JSON.parse(next.responses[0]?.body.toString() ?? '{}')).toEqual({ target: '/next', connection: 2 });
    await closed(events, idle?.id as string);
    expect(events.filter((e) => e.type === 'connection-acquired').map((e) => e.connectionId)).toEqual([idle?.id, expect.not.stringMatching(`^${idle?.id}$`)]);
  });
});
