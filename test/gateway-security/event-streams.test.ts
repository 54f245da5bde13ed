import * as http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { POOL_EVENT_TYPES } from '../../src/nest/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { waitFor } from '../support/wait-for.js';

/** An SSE client that reads all the time and keeps the events it got. */
interface Stream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly events: Array<{ readonly id: string; readonly event: string; readonly data: string }>;
  close(): void;
}

const open: Stream[] = [];
afterEach(async () => {
  for (const stream of open.splice(0)) stream.close();
  vi.restoreAllMocks();
  await stopTestServices();
});

function stream(base: string, path: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { agent: false }, (res) => {
      let body = '';
      const events: Stream['events'] = [];
      const result: Stream = { status: res.statusCode ?? 0, headers: res.headers, events, close: () => req.destroy(), get body() { return body; } };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        // Complete events only: blocks end with a blank line.
        for (let end = body.indexOf('\n\n'); end !== -1; end = body.indexOf('\n\n')) {
          const block = body.slice(0, end);
          body = body.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
          if (fields.event !== undefined) events.push({ id: fields.id ?? '', event: fields.event, data: fields.data ?? '' });
        }
        if (res.statusCode === 200 && !open.includes(result)) {
          open.push(result);
          resolve(result);
        }
      });
      res.on('error', () => undefined);
      if (res.statusCode !== 200) res.on('end', () => resolve({ ...result, body }));
    });
    req.on('error', reject);
  });
}

describe('event streams (EVENT_STREAMS_MAX)', () => {
  it('past the cap, /pool/events and /pool/cleanup-ticks together answer 503 with Retry-After; a closed stream frees its place', async () => {
    const service = await startTestService({ EVENT_STREAMS_MAX: '3' });
    const first = await stream(service.url, '/pool/events');
    await stream(service.url, '/pool/events?type=connect-start');
    await stream(service.url, '/pool/cleanup-ticks');
    for (const path of ['/pool/events', '/pool/cleanup-ticks']) {
      const refused = await stream(service.url, path);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('10');
      expect(JSON.parse(refused.body)).toMatchObject({ statusCode: 503, code: 'TOO_MANY_EVENT_STREAMS' });
    }
    // The rest of the service is not limited by it.
    expect((await service.fetch('/health/live')).status).toBe(200);

    first.close();
    let again: Stream | undefined;
    await waitFor(async () => {
      const attempt = await stream(service.url, '/pool/events');
      if (attempt.status === 200) again = attempt;
      return again !== undefined;
    }, 'a place to free up');
    expect(again?.status).toBe(200);
  });

  it('EVENT_STREAMS_MAX=0 turns the streams off', async () => {
    const service = await startTestService({ EVENT_STREAMS_MAX: '0' });
    expect((await stream(service.url, '/pool/events')).status).toBe(503);
  });

  it('each event is serialised once for all streams, and every stream gets it', async () => {
    const service = await startTestService({ EVENT_STREAMS_MAX: '8' });
    const streams: Stream[] = [];
    for (let i = 0; i < 6; i++) streams.push(await stream(service.url, '/pool/events'));
    streams.push(await stream(service.url, '/pool/events?type=connection-acquired'));
    const emitted: PoolEvent[] = [];
    service.pool.events$.subscribe((event) => emitted.push(event));
    const types: readonly string[] = POOL_EVENT_TYPES;
    const stringify = vi.spyOn(JSON, 'stringify');

    expect((await service.fetch('/proxy/echo')).status).toBe(200);
    expect((await service.fetch('/proxy/echo')).status).toBe(200);
    await waitFor(() => streams.slice(0, 6).every((s) => s.events.length >= emitted.length) && emitted.length > 0, 'every stream to get every event');

    const serialisations = stringify.mock.calls.filter(([value]) => typeof value === 'object' && value !== null && types.includes((value as { type?: string }).type ?? '') && 'at' in value);
    expect(serialisations).toHaveLength(emitted.length);
    for (const s of streams.slice(0, 6)) {
      expect(s.events.map((e) => e.event)).toEqual(emitted.map((e) => e.type));
      expect(s.events.map((e) => Number(e.id))).toEqual(emitted.map((_, i) => i + 1));
    }
    await waitFor(() => (streams[6]?.events.length ?? 0) === emitted.filter((e) => e.type === 'connection-acquired').length, 'the filtered stream to get its events');
  });
});
