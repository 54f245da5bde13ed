import { get, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { waitFor } from '../../support/wait-for.js';

/** One Server-Sent Event as a client parses it (a comment-only block has `comment`). */
export interface ReceivedEvent {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly comment?: string;
}

/**
 * A real HTTP client of an event stream (node:http, no keep-alive agent), parsing SSE as
 * the bytes arrive. It can stop reading (`pause()`), as a stuck client would.
 */
export class SseClient {
  readonly events: ReceivedEvent[] = [];
  ended = false;
  #buffer = '';

  private constructor(
    readonly response: IncomingMessage,
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.#parse(chunk));
    response.on('end', () => (this.ended = true));
    response.on('close', () => (this.ended = true));
    response.on('error', () => (this.ended = true));
  }

  /** Opens `url` and resolves once the response headers are in. */
  static connect(url: string): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const request = get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (response) => {
        resolve(new SseClient(response, response.statusCode ?? 0, response.headers));
      });
      request.on('error', reject);
    });
  }

  /** Pool events and `dropped` reports, comments left out. */
  get messages(): ReceivedEvent[] {
    return this.events.filter((e) => e.comment === undefined);
  }

  /** Parsed `data` of the messages whose `event` is not `dropped`. */
  get poolEvents(): Array<Record<string, unknown> & { type: string }> {
    return this.messages.filter((e) => e.event !== 'dropped').map((e) => JSON.parse(e.data ?? 'null'));
  }

  /** Waits for real I/O until `condition` holds. */
  until(condition: (client: this) => boolean, what: string, timeoutMs?: number): Promise<void> {
    return waitFor(() => condition(this), what, timeoutMs);
  }

  /** Stops reading: the server's writes back up once the socket buffers are full. */
  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.response.destroy();
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) !== -1) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event: { id?: string; event?: string; data?: string; comment?: string } = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          event.comment = line.slice(1).trim();
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
        else if (field === 'id' || field === 'event') event[field] = value;
      }
      if (Object.keys(event).length > 0) this.events.push(event);
    }
  }
}
