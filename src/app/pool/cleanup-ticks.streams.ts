import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, ServiceUnavailableException, type BeforeApplicationShutdown } from '@nestjs/common';
import { interval, map, share, type Observable, type Subscription } from 'rxjs';
import { ConnectionPool } from '../../http/index.js';
import { SseEventWriter } from '../../nest/index.js';

/** How often an idle stream gets a comment, so that proxies in between keep it open. */
const HEARTBEAT_MS = 15_000;
/** Ticks kept for a client that does not keep up (then dropped and reported, as for pool events). */
const MAX_BUFFERED_TICKS = 1_000;

/**
 * The pool's cleanup stream as Server-Sent Events: one `cleanup-tick` event per tick, its
 * data `{ at, delay, evicted }` (`delay`: what `cleanup(now)` returned, ms to the next tick,
 * -1 when the loop stopped). The pool's event stream (`ConnectionPoolEventsModule`) carries
 * `pool.events$` only; this is its companion for `pool.cleanupTicks$`, with the same bounded
 * buffering per client.
 */
@Injectable()
export class CleanupTicksStreams implements BeforeApplicationShutdown {
  readonly #open = new Set<() => void>();
  /** The ticks as JSON, shared by every stream: a tick is serialised once, whatever the number of readers. */
  readonly #ticks: Observable<string>;
  #shuttingDown = false;

  constructor(private readonly pool: ConnectionPool) {
    this.#ticks = pool.cleanupTicks$.pipe(
      map((tick) => JSON.stringify({ at: tick.at, delay: tick.delay, evicted: tick.evicted })),
      share(),
    );
  }

  /** Streams ticks until the client leaves, the pool closes or the application shuts down. */
  stream(request: IncomingMessage, response: ServerResponse): void {
    // A stream opened now would hold the closing HTTP server open.
    if (this.#shuttingDown) throw new ServiceUnavailableException('The service is shutting down: no new event streams.');
    const writer = new SseEventWriter(response, { maxBufferedEvents: MAX_BUFFERED_TICKS });
    writer.open(request);
    const subscriptions: Subscription[] = [];
    const close = (): void => {
      if (!this.#open.delete(close)) return;
      for (const subscription of subscriptions) subscription.unsubscribe();
      response.off('close', close);
      writer.end();
    };
    this.#open.add(close);
    response.on('close', close);
    let id = 0;
    subscriptions.push(
      this.#ticks.subscribe({
        next: (data) => {
          writer.send({ id: ++id, event: 'cleanup-tick', data });
        },
        complete: close,
      }),
    );
    if (this.#open.has(close)) subscriptions.push(interval(HEARTBEAT_MS, this.pool.options.scheduler).subscribe(() => writer.comment('heartbeat')));
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.#open.size;
  }

  /** Ends every stream before the HTTP server closes (it would wait for them forever). */
  beforeApplicationShutdown(): void {
    this.#shuttingDown = true;
    for (const close of [...this.#open]) close();
  }
}
