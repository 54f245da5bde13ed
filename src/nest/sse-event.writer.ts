import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidOptionError } from '../pool/index.js';

/** One Server-Sent Event. */
export interface SseMessage {
  /** The event name (`event:`), e.g. the pool event's type. */
  readonly event?: string;
  readonly id?: string | number;
  /** The payload, usually JSON; newlines are split into several `data:` lines. */
  readonly data: string;
}

/** Options of {@link SseEventWriter}. */
export interface SseEventWriterOptions {
  /** Events kept for a client that does not keep up; past it, new events are dropped and counted. */
  readonly maxBufferedEvents: number;
  /**
   * How long (ms) what is written waits to go out with what follows, at most: one write, so one
   * system call and one wake-up of the reader, per stream and interval instead of per event.
   * 0: at the end of the event loop's turn. Default: {@link DEFAULT_SSE_FLUSH_INTERVAL_MS}.
   */
  readonly flushIntervalMs?: number;
}

/**
 * What an event waits at most before it is written, by default. A busy pool makes events in
 * every turn of the event loop (two per proxied request); written at the end of each turn, a
 * gateway at 12,000 requests a second wrote each stream 1,100 times a second, and the writes,
 * not the events, were what the streams cost (bench/RESULTS.md, event streams). A person
 * watching does not see 20 ms.
 */
export const DEFAULT_SSE_FLUSH_INTERVAL_MS = 20;

/** What a stream has done so far. */
export interface SseStreamStats {
  /** Events written to the response (dropped-reports included). */
  readonly written: number;
  /** Events waiting for the client to drain what was written. */
  readonly queued: number;
  /** Events dropped because the queue was full. */
  readonly dropped: number;
  /** Whether the response is waiting for 'drain'. */
  readonly backedUp: boolean;
}

/** Past this many characters pending, what is pending is written at once. */
const FLUSH_AT_CHARS = 64 * 1024;

/** A run of dropped events, reported to the client at the place where they were dropped. */
interface DropMarker {
  dropped: number;
}

type Entry = SseMessage | DropMarker;

/**
 * Writes Server-Sent Events to a Node response with a bounded memory cost per client.
 *
 * `res.write()` keeps what it is given in memory until the socket takes it, and says so by
 * returning false: from then on, events wait in a queue of at most `maxBufferedEvents`, which
 * is written on `'drain'`. Past that, new events are dropped (the oldest are kept, so the
 * client sees events in order up to the gap), and at the gap the client gets an event
 * `dropped` with `{"dropped": <in this gap>, "totalDropped": <so far>}`. A client that stops
 * reading for good thus costs the socket's buffer, the queue, and nothing more.
 *
 * Nest's own `@Sse()` cannot do this: it keeps every event for a slow client until
 * `maxPendingDataLength`, then disconnects it, and a producer never learns about it.
 */
export class SseEventWriter {
  readonly #response: ServerResponse;
  readonly #max: number;
  readonly #flushIntervalMs: number;
  readonly #queue: Entry[] = [];
  /** Events in the queue (drop markers not counted). */
  #queued = 0;
  #backedUp = false;
  #written = 0;
  #dropped = 0;
  #reported = 0;
  #ended = false;
  /** What was written since the last write to the response, sent when the flush interval ends. */
  #pending = '';
  #flushScheduled = false;

  constructor(response: ServerResponse, options: SseEventWriterOptions) {
    this.#response = response;
    this.#max = options.maxBufferedEvents;
    const interval = options.flushIntervalMs ?? DEFAULT_SSE_FLUSH_INTERVAL_MS;
    if (typeof interval !== 'number' || !(interval >= 0) || !Number.isFinite(interval)) {
      throw new InvalidOptionError('flushIntervalMs', interval, 'a number of milliseconds >= 0 (0: at the end of the turn)');
    }
    this.#flushIntervalMs = interval;
    response.on('drain', this.#onDrain);
  }

  /** Sends the SSE headers and a first comment, so that the client knows it is connected. */
  open(request?: IncomingMessage): void {
    const socket = request?.socket;
    // A stream is long-lived and latency-sensitive: no idle timeout, no Nagle delay.
    socket?.setTimeout?.(0);
    socket?.setNoDelay?.(true);
    socket?.setKeepAlive?.(true);
    this.#response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx buffers responses unless told not to.
      'X-Accel-Buffering': 'no',
    });
    this.#write(': connected\n\n');
    // The client learns at once that it is connected.
    this.#flush();
  }

  /** Writes `message` now, queues it while the client is behind, or drops it if the queue is full. */
  send(message: SseMessage): 'written' | 'queued' | 'dropped' {
    if (this.#ended) return 'dropped';
    if (!this.#backedUp && this.#queue.length === 0) {
      this.#write(format(message));
      this.#written++;
      return 'written';
    }
    if (this.#queued < this.#max) {
      this.#queue.push(message);
      this.#queued++;
      return 'queued';
    }
    this.#dropped++;
    const last = this.#queue.at(-1);
    if (last !== undefined && isDropMarker(last)) last.dropped++;
    else this.#queue.push({ dropped: 1 });
    return 'dropped';
  }

  /** A comment line (a heartbeat for proxies); skipped while the client is behind. */
  comment(text: string): void {
    if (this.#ended || this.#backedUp || this.#queue.length > 0) return;
    this.#write(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
  }

  /**
   * Ends the response. A client that is behind gets its socket destroyed instead: ending
   * would wait for it to read everything, and could hold a server's shutdown forever.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#response.off('drain', this.#onDrain);
    this.#queue.length = 0;
    this.#queued = 0;
    if (this.#response.destroyed || this.#response.writableEnded) return;
    if (this.#backedUp) this.#response.destroy();
    else {
      this.#flush();
      this.#response.end();
    }
  }

  /** Counters of this stream. */
  get stats(): SseStreamStats {
    return { written: this.#written, queued: this.#queued, dropped: this.#dropped, backedUp: this.#backedUp };
  }

  readonly #onDrain = (): void => {
    this.#backedUp = false;
    while (this.#queue.length > 0 && !this.#backedUp && !this.#ended) {
      const entry = this.#queue.shift() as Entry;
      if (isDropMarker(entry)) {
        this.#reported += entry.dropped;
        this.#write(format({ event: 'dropped', data: JSON.stringify({ dropped: entry.dropped, totalDropped: this.#reported }) }));
      } else {
        this.#queued--;
        this.#write(format(entry));
      }
      this.#written++;
    }
  };

  #write(chunk: string): void {
    if (this.#response.writableEnded || this.#response.destroyed) return;
    // What comes within the flush interval goes out in one write: events come in bursts (a
    // proxied request makes two), and a write (a syscall, and a wake-up of the reader) per event
    // and per reader costs the service more than the events are worth. A large burst is written
    // as it grows, so that the response's own backpressure still decides.
    this.#pending += chunk;
    if (this.#pending.length >= FLUSH_AT_CHARS) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      if (this.#flushIntervalMs === 0) setImmediate(this.#flushScheduledWrites);
      // Unref'd: a stream's pending events never keep a process alive (end() writes them).
      else setTimeout(this.#flushScheduledWrites, this.#flushIntervalMs).unref();
    }
  }

  readonly #flushScheduledWrites = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    const chunk = this.#pending;
    if (chunk === '') return;
    this.#pending = '';
    if (this.#response.writableEnded || this.#response.destroyed) return;
    if (!this.#response.write(chunk)) this.#backedUp = true;
  }
}

function isDropMarker(entry: Entry): entry is DropMarker {
  return 'dropped' in entry;
}

/** The wire form of one event; field values lose line breaks, data keeps them as several lines. */
function format(message: SseMessage): string {
  const body = bodyOf(message.event, message.data);
  if (message.id === undefined) return body;
  return typeof message.id === 'number' ? `id: ${message.id}\n${body}` : `id: ${message.id.replace(/[\r\n]/g, '')}\n${body}`;
}

/**
 * The last event's `event:` and `data:` lines. A stream service hands one event to each of its
 * streams in turn, each with its own id and the same name and data: the lines are made once
 * for all of them instead of once per stream (comparing a string with itself is a pointer check).
 */
let lastEvent: string | undefined;
let lastData: string | undefined;
let lastBody = '';

function bodyOf(event: string | undefined, data: string): string {
  if (data === lastData && event === lastEvent) return lastBody;
  let text = event === undefined ? '' : `event: ${event.replace(/[\r\n]/g, '')}\n`;
  for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  lastEvent = event;
  lastData = data;
  lastBody = `${text}\n`;
  return lastBody;
}
