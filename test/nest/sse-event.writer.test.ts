import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SSE_FLUSH_INTERVAL_MS, SseEventWriter } from '../../src/nest/index.js';

/**
 * A response whose client reads only when told: while it does not, writes pile up in the
 * stream's buffer and `write()` returns false past the high-water mark, as a socket's does.
 */
class FakeResponse extends Writable {
  readonly chunks: string[] = [];
  status = 0;
  headers: Record<string, string> = {};
  #reading = true;
  #pending: Array<() => void> = [];

  constructor() {
    super({ highWaterMark: 64, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(String(chunk));
    if (this.#reading) callback();
    else this.#pending.push(callback);
  }

  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }

  /** The client stops reading. */
  stall(): void {
    this.#reading = false;
  }

  /** The client reads everything again ('drain' follows, asynchronously, and what it lets out is flushed a turn later). */
  async read(): Promise<void> {
    this.#reading = true;
    for (let turn = 0; turn < 3; turn++) {
      while (this.#pending.length > 0) this.#pending.shift()?.();
      await nextTurn();
    }
  }

  get text(): string {
    return this.chunks.join('');
  }

  /** The events written, as `event:id` (or `dropped:{...}` for reports). */
  get written(): string[] {
    return this.text
      .split('\n\n')
      .filter((block) => block.length > 0 && !block.startsWith(':'))
      .map((block) => {
        const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
        return fields.event === 'dropped' ? `dropped:${fields.data}` : `${fields.event}:${fields.id}`;
      });
  }
}

/** One turn of the event loop: with flushIntervalMs 0, the writer sends what it was given in a turn at the end of it. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A writer on a fresh response that writes at the end of each turn, opened, its first comment flushed. */
async function writer(max: number): Promise<{ response: FakeResponse; sse: SseEventWriter }> {
  const response = new FakeResponse();
  const sse = new SseEventWriter(response as unknown as ServerResponse, { maxBufferedEvents: max, flushIntervalMs: 0 });
  sse.open();
  await nextTurn();
  return { response, sse };
}

const big = 'x'.repeat(100); // one event is more than the high-water mark

describe('SseEventWriter', () => {
  it('sends the SSE headers and a first comment, then each event as it comes while the client keeps up', async () => {
    const { response, sse } = await writer(10);
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Accel-Buffering': 'no' });
    expect(response.text).toBe(': connected\n\n');
    expect(sse.send({ id: 1, event: 'connect-start', data: '{"a":1}' })).toBe('written');
    expect(sse.send({ event: 'multi\nline', data: 'one\ntwo' })).toBe('written');
    await nextTurn();
    expect(response.text).toBe(': connected\n\nid: 1\nevent: connect-start\ndata: {"a":1}\n\nevent: multiline\ndata: one\ndata: two\n\n');
    expect(sse.stats).toEqual({ written: 2, queued: 0, dropped: 0, backedUp: false });
  });

  it('writes what comes in one turn of the event loop in one write, at the end of the turn (a big burst as it grows)', async () => {
    const { response, sse } = await writer(10);
    const writes = response.chunks.length;
    for (let id = 1; id <= 5; id++) sse.send({ id, event: 'e', data: 'x' });
    expect(response.chunks.length).toBe(writes);
    await nextTurn();
    expect(response.chunks.length).toBe(writes + 1);
    expect(response.written).toEqual(['e:1', 'e:2', 'e:3', 'e:4', 'e:5']);
    // 64 KiB or more pending: written at once, so that backpressure is seen within the burst.
    const huge = 'y'.repeat(40 * 1024);
    sse.send({ id: 6, event: 'e', data: huge });
    expect(response.chunks.length).toBe(writes + 1);
    sse.send({ id: 7, event: 'e', data: huge });
    expect(response.chunks.length).toBe(writes + 2);
    await nextTurn();
    expect(response.written.slice(-2)).toEqual(['e:6', 'e:7']);
  });

  it('gives every stream the same event with its own id; an event of another name with the same data is written as its own', async () => {
    const [a, b] = await Promise.all([writer(10), writer(10)]);
    const data = '{"type":"connection-released"}';
    a.sse.send({ id: 7, event: 'connection-released', data });
    b.sse.send({ id: 'b\r\n1', event: 'connection-released', data });
    a.sse.send({ id: 8, event: 'connection-acquired', data });
    b.sse.send({ id: 'b2', data });
    await nextTurn();
    expect(a.response.text).toBe(`: connected\n\nid: 7\nevent: connection-released\ndata: ${data}\n\nid: 8\nevent: connection-acquired\ndata: ${data}\n\n`);
    expect(b.response.text).toBe(`: connected\n\nid: b1\nevent: connection-released\ndata: ${data}\n\nid: b2\ndata: ${data}\n\n`);
  });

  it('queues while the client is behind, drops past the limit, and reports the gap where it was', async () => {
    const { response, sse } = await writer(2);
    response.stall();
    expect(sse.send({ id: 1, event: 'e', data: big })).toBe('written');
    await nextTurn(); // written at the end of the turn, past the high-water mark: backed up
    expect(sse.stats.backedUp).toBe(true);
    expect([2, 3, 4, 5, 6].map((id) => sse.send({ id, event: 'e', data: big }))).toEqual(['queued', 'queued', 'dropped', 'dropped', 'dropped']);
    expect(sse.stats).toEqual({ written: 1, queued: 2, dropped: 3, backedUp: true });
    await nextTurn();
    expect(response.written).toEqual(['e:1']);

    await response.read();
    expect(response.written).toEqual(['e:1', 'e:2', 'e:3', 'dropped:{"dropped":3,"totalDropped":3}']);
    expect(sse.stats).toEqual({ written: 4, queued: 0, dropped: 3, backedUp: false });
    expect(sse.send({ id: 7, event: 'e', data: 'small' })).toBe('written');
    await nextTurn();
    expect(response.written.at(-1)).toBe('e:7');
  });

  it('reports each gap on its own, with the running total', async () => {
    const { response, sse } = await writer(1);
    response.stall();
    sse.send({ id: 1, event: 'e', data: big });
    await nextTurn();
    sse.send({ id: 2, event: 'e', data: big }); // queued
    sse.send({ id: 3, event: 'e', data: big }); // dropped
    await response.read();
    response.stall();
    sse.send({ id: 4, event: 'e', data: big }); // written, backs up again
    await nextTurn();
    sse.send({ id: 5, event: 'e', data: big }); // queued
    sse.send({ id: 6, event: 'e', data: big }); // dropped
    sse.send({ id: 7, event: 'e', data: big }); // dropped
    await response.read();
    expect(response.written).toEqual([
      'e:1',
      'e:2',
      'dropped:{"dropped":1,"totalDropped":1}',
      'e:4',
      'e:5',
      'dropped:{"dropped":2,"totalDropped":3}',
    ]);
  });

  it('with maxBufferedEvents 0, drops everything while the client is behind', async () => {
    const { response, sse } = await writer(0);
    response.stall();
    sse.send({ id: 1, event: 'e', data: big });
    await nextTurn();
    expect(sse.send({ id: 2, event: 'e', data: 'x' })).toBe('dropped');
    await response.read();
    expect(response.written).toEqual(['e:1', 'dropped:{"dropped":1,"totalDropped":1}']);
  });

  it('skips heartbeat comments while the client is behind', async () => {
    const { response, sse } = await writer(5);
    sse.comment('heartbeat');
    response.stall();
    sse.send({ id: 1, event: 'e', data: big });
    await nextTurn();
    sse.comment('heartbeat');
    await nextTurn();
    expect(response.text.match(/: heartbeat/g)).toHaveLength(1);
    await response.read();
    sse.comment('beat\nbeat');
    await nextTurn();
    expect(response.text.endsWith(': beat beat\n\n')).toBe(true);
  });

  it('ends a response that keeps up, destroys one that is behind, and sends nothing after', async () => {
    const ok = await writer(5);
    ok.sse.end();
    expect(ok.response.writableEnded).toBe(true);
    expect(ok.response.destroyed).toBe(false);
    expect(ok.sse.send({ id: 1, event: 'e', data: 'late' })).toBe('dropped');
    expect(ok.response.written).toEqual([]);

    const stuck = await writer(5);
    stuck.response.stall();
    stuck.sse.send({ id: 1, event: 'e', data: big });
    await nextTurn();
    stuck.sse.send({ id: 2, event: 'e', data: big });
    stuck.sse.end();
    expect(stuck.response.destroyed).toBe(true);
    expect(stuck.sse.stats.queued).toBe(0);
  });

  describe('flush interval', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('by default writes what came within 20 ms in one write, the first comment at once', () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'setImmediate'] });
      const response = new FakeResponse();
      const sse = new SseEventWriter(response as unknown as ServerResponse, { maxBufferedEvents: 10 });
      sse.open();
      expect(response.text).toBe(': connected\n\n');
      sse.send({ id: 1, event: 'e', data: 'x' });
      vi.advanceTimersByTime(DEFAULT_SSE_FLUSH_INTERVAL_MS - 1);
      sse.send({ id: 2, event: 'e', data: 'x' });
      expect(response.written).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(response.chunks).toHaveLength(2);
      expect(response.written).toEqual(['e:1', 'e:2']);
      // The next event starts a new interval; end() writes what is pending at once.
      sse.send({ id: 3, event: 'e', data: 'x' });
      sse.end();
      expect(response.written).toEqual(['e:1', 'e:2', 'e:3']);
      expect(response.writableEnded).toBe(true);
      expect(vi.getTimerCount()).toBe(1); // the interval's timer, which finds nothing to write
      vi.runAllTimers();
      expect(response.chunks).toHaveLength(3);
    });

    it('refuses an interval that is not a number of milliseconds >= 0, naming the option', () => {
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '20' as unknown as number]) {
        expect(() => new SseEventWriter(new FakeResponse() as unknown as ServerResponse, { maxBufferedEvents: 1, flushIntervalMs: bad })).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_OPTION', message: expect.stringContaining('flushIntervalMs') }),
        );
      }
    });
  });
});
