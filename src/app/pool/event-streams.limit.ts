import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { APP_CONFIG } from '../app.tokens.js';
import type { AppConfig } from '../config/app-config.js';
import { sendProxyError } from '../proxy/proxy-error.response.js';

/** How long a client refused a stream is told to wait: streams are long-lived, a slot frees slowly. */
export const EVENT_STREAM_RETRY_AFTER_S = 10;

/**
 * The cap on event streams open at once (`EVENT_STREAMS_MAX`), for the pool's events and the
 * cleanup ticks together: every stream costs a connection, a subscription and a write per
 * event, and an unbounded number of readers would slow the proxy and the probes down. A
 * request past the cap is answered 503 (`TOO_MANY_EVENT_STREAMS`, `Retry-After`) before any
 * stream opens. A stream counts from its request to the close of its response.
 */
@Injectable()
export class EventStreamsLimit implements NestMiddleware {
  #open = 0;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Streams open (or being opened) now. */
  get open(): number {
    return this.#open;
  }

  use(_request: IncomingMessage, response: ServerResponse, next: () => void): void {
    const max = this.config.eventStreamsMax;
    if (this.#open >= max) {
      sendProxyError(
        response,
        503,
        'TOO_MANY_EVENT_STREAMS',
        `${max} event stream(s) are open, as many as this service serves at once (EVENT_STREAMS_MAX). Try again later, or close another stream (a dashboard tab holds two).`,
        { retryAfterSeconds: EVENT_STREAM_RETRY_AFTER_S },
      );
      return;
    }
    this.#open++;
    response.once('close', () => this.#open--);
    next();
  }
}
