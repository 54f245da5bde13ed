import { get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices, type TestService } from './support/test-service.js';
import { waitFor } from '../support/wait-for.js';

afterEach(stopTestServices);

/** A minimal Server-Sent Events reader: `event:` names and parsed `data:` of the messages received. */
async function openStream(service: TestService, path: string): Promise<{ messages: Array<{ event: string; data: Record<string, unknown> }>; close(): void; response: IncomingMessage }> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(`${service.url}${path}`, { agent: false, headers: { accept: 'text/event-stream' } }, resolve).on('error', reject);
  });
  const messages: Array<{ event: string; data: Record<string, unknown> }> = [];
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) messages.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  });
  return { messages, response, close: () => response.destroy() };
}

describe('metrics', () => {
  it("serves the pool's metrics and the proxy's on GET /metrics, in the Prometheus text format", async () => {
    const service = await startTestService();
    for (let i = 0; i < 3; i++) await service.fetch('/proxy/echo');
    await service.fetch('/proxy/status/404');
    const response = await service.fetch('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.text;
    expect(text).toContain('connection_pool_acquisitions_total{pool="default",reused="false"} 1');
    expect(text).toContain('connection_pool_acquisitions_total{pool="default",reused="true"} 3');
    expect(text).toContain('connection_pool_connections{pool="default",state="idle"} 1');
    expect(text).toContain('gateway_proxy_requests_total{method="GET",status="200",outcome="ok"} 3');
    expect(text).toContain('gateway_proxy_requests_total{method="GET",status="404",outcome="ok"} 1');
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });
});

describe('live streams', () => {
  it('GET /pool/events streams the pool events of proxied requests', async () => {
    const service = await startTestService();
    const stream = await openStream(service, '/pool/events');
    expect(stream.response.headers['content-type']).toContain('text/event-stream');
    await service.fetch('/proxy/echo');
    await service.fetch('/proxy/echo');
    await waitFor(() => stream.messages.length >= 6, 'six pool events');
    expect(stream.messages.map((m) => m.event)).toEqual([
      'connect-start',
      'connect-end',
      'connection-acquired',
      'connection-released',
      'connection-acquired',
      'connection-released',
    ]);
    expect(stream.messages[4]?.data).toMatchObject({ type: 'connection-acquired', reused: true, address: service.target.origin });
    stream.close();
  });

  it('serves the event stream where EVENTS_PATH says', async () => {
    const service = await startTestService({ EVENTS_PATH: '/ops/pool-events' });
    expect((await service.poolSnapshot()).streams.events).toBe('/ops/pool-events');
    const stream = await openStream(service, '/ops/pool-events?type=connect-start');
    await service.fetch('/proxy/echo');
    await waitFor(() => stream.messages.length === 1, 'the connect-start event');
    expect(stream.messages[0]?.event).toBe('connect-start');
    expect((await service.fetch('/pool/events')).status).toBe(404);
    stream.close();
  });

  it("GET /pool/cleanup-ticks streams the cleanup stream's ticks with the delay each returned", async () => {
    const service = await startTestService({ POOL_KEEP_ALIVE: '1s' });
    const stream = await openStream(service, '/pool/cleanup-ticks');
    await service.fetch('/proxy/echo');
    // A release wakes the loop: the idle connection expires in keepAlive (1 s), then the pool is empty (-1).
    await waitFor(() => stream.messages.some((m) => m.data.delay === -1), 'the tick that stops the loop', 5_000);
    const ticks = stream.messages.map((m) => m.data);
    expect(stream.messages.every((m) => m.event === 'cleanup-tick')).toBe(true);
    expect(ticks.some((t) => typeof t.delay === 'number' && t.delay > 0 && t.delay <= 1_000)).toBe(true);
    expect(ticks.at(-1)).toMatchObject({ delay: -1, evicted: 1 });
    stream.close();
  });

  it('ends the streams when the service closes, so that they never hold the shutdown', async () => {
    const service = await startTestService();
    const events = await openStream(service, '/pool/events');
    const ticks = await openStream(service, '/pool/cleanup-ticks');
    const ended = Promise.all([events, ticks].map((s) => new Promise((resolve) => s.response.once('end', resolve))));
    await service.close();
    await ended;
    expect(events.response.complete && ticks.response.complete).toBe(true);
  });
});
