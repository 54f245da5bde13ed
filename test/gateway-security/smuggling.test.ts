import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCerts } from '../support/certs.js';
import { startTestService, stopTestServices, type TestService } from '../app/support/test-service.js';
import { HOSTILE_REQUESTS, type HostileCase } from './support/hostile-requests.js';
import { rawExchange } from './support/raw-client.js';
import { startRecordingH2Upstream, startRecordingUpstream, type RecordedAnswer, type RecordingUpstream } from './support/recording-upstream.js';
import { header } from './support/strict-http1.js';

interface Setup {
  readonly name: string;
  readonly upstream: () => Promise<RecordingUpstream>;
  readonly env: (upstream: RecordingUpstream) => Record<string, string>;
}

function caFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rcp-smuggling-ca-')), 'ca.pem');
  writeFileSync(file, testCerts().ca.cert);
  return file;
}

const SETUPS: readonly Setup[] = [
  { name: "an HTTP/1.1 upstream (the gateway's own client)", upstream: startRecordingUpstream, env: (upstream) => ({ UPSTREAM_URL: upstream.url }) },
  {
    name: "an HTTP/1.1 upstream (the pool's undici dispatcher, UPSTREAM_HTTP2=auto)",
    upstream: startRecordingUpstream,
    env: (upstream) => ({ UPSTREAM_URL: upstream.url, UPSTREAM_HTTP2: 'auto' }),
  },
  {
    name: 'an h2 upstream (UPSTREAM_HTTP2=always)',
    upstream: startRecordingH2Upstream,
    env: (upstream) => ({ UPSTREAM_URL: upstream.url, UPSTREAM_CA_FILE: caFile(), UPSTREAM_HTTP2: 'always' }),
  },
];

/** A request from someone else, with credentials, right after the attacker's. */
function victimRequest(id: string): string {
  return `GET /proxy/victim/${id} HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer victim-${id}\r\nCookie: session=victim-${id}\r\nConnection: close\r\n\r\n`;
}

function sentinel(id: string): string {
  return `GET /proxy/sentinel/${id} HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n`;
}

describe.each(SETUPS)('hostile requests through the gateway to $name', (setup) => {
  let upstream: RecordingUpstream;
  let service: TestService;

  beforeAll(async () => {
    upstream = await setup.upstream();
    // One upstream connection: any byte left over on it would be read as the next client's request.
    service = await startTestService({ ...setup.env(upstream), POOL_MAX_PER_ADDRESS: '1', UPSTREAM_TIMEOUT: '10s' });
  });
  afterAll(async () => {
    await stopTestServices();
    await upstream.close();
  });

  it(`has a corpus of at least 40 hostile requests (${HOSTILE_REQUESTS.length})`, () => {
    expect(HOSTILE_REQUESTS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE_REQUESTS.map((c, i) => ({ ...c, index: i })))('$name', async (hostile: HostileCase & { index: number }) => {
    const id = `c${hostile.index}`;
    const before = upstream.requests.length;
    const keeps = hostile.keepsConnection ?? hostile.statuses.every((status) => status < 400);
    const exchange = await rawExchange(service.port, hostile.bytes, {
      methods: hostile.methods ?? hostile.statuses.map(() => 'GET'),
      ...(keeps ? { sentinel: sentinel(id) } : {}),
    });
    expect(exchange.parseError, 'the gateway answers in well-framed HTTP/1.1').toBeUndefined();
    expect(exchange.leftover).toBe('');
    const statuses = exchange.responses.map((response) => response.status);
    if (keeps) {
      expect(statuses).toEqual([...hostile.statuses, 200]);
      const last = JSON.parse((exchange.responses.at(-1) as { body: Buffer }).body.toString()) as RecordedAnswer;
      expect(last.target).toBe(`/sentinel/${id}`);
    } else {
      expect(statuses).toEqual(hostile.statuses);
    }
    // Refusals are the gateway's own JSON or Node's bare 400: never a page with a trace.
    for (const response of exchange.responses.filter((r) => r.status >= 400)) {
      expect(response.body.toString()).not.toMatch(/at .*\(|node_modules|\/src\//);
    }

    // The victim, on its own connection, gets the answer to its own request.
    const victim = await rawExchange(service.port, victimRequest(id), { methods: ['GET'] });
    expect(victim.responses.map((r) => r.status)).toEqual([200]);
    const answer = JSON.parse((victim.responses[0] as { body: Buffer }).body.toString()) as RecordedAnswer;
    expect(answer).toMatchObject({ method: 'GET', target: `/victim/${id}`, authorization: `Bearer victim-${id}`, cookie: `session=victim-${id}` });
    for (const response of exchange.responses) expect(response.body.toString()).not.toContain('victim');

    // The upstream received exactly the attacker's requests (then the sentinel), then the victim's, each well framed.
    expect(upstream.protocolErrors).toEqual([]);
    const received = upstream.requests.slice(before).map((r) => ({ method: r.method, target: r.target, body: r.body.toString('latin1') }));
    const expected = [...hostile.forwarded, ...(keeps ? [{ method: 'GET', target: `/sentinel/${id}`, body: '' }] : []), { method: 'GET', target: `/victim/${id}`, body: '' }];
    // Pipelined requests go out one after the other on HTTP/1.1 (one connection); on h2 they
    // are concurrent streams, so only the set of the attacker's requests is compared.
    const attackers = hostile.forwarded.length;
    const inOrder = (list: typeof expected): typeof expected =>
      setup.upstream === startRecordingH2Upstream ? [...list.slice(0, attackers).sort((a, b) => a.target.localeCompare(b.target)), ...list.slice(attackers)] : list;
    expect(inOrder(received)).toEqual(inOrder(expected));
    const upstreamHost = new URL(upstream.url).host;
    for (const request of upstream.requests.slice(before)) {
      expect(request.host).toBe(upstreamHost);
      // A body never goes out bare: with its length, chunked, or as h2 DATA.
      if (request.body.length > 0) expect(['length', 'chunked', 'h2']).toContain(request.framing);
      expect(request.headers.filter(([name]) => name === 'host' || name === 'content-length' || name === 'transfer-encoding').length).toBeLessThanOrEqual(request.framing === 'h2' ? 1 : 2);
    }
    for (const request of upstream.requests.slice(before)) {
      if (request.framing !== 'h2') expect(header({ startLine: '', headers: request.headers, body: request.body, framing: request.framing }, 'x-smuggled')).toBeUndefined();
    }
  });
});
