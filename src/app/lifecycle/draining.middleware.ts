import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, type NestMiddleware } from '@nestjs/common';
import { AppLifecycle } from './app-lifecycle.js';

/**
 * While draining, every response says `Connection: close`: keep-alive clients then reconnect,
 * and reach an instance that is not shutting down.
 */
@Injectable()
export class DrainingMiddleware implements NestMiddleware {
  constructor(private readonly lifecycle: AppLifecycle) {}

  use(_request: IncomingMessage, response: ServerResponse, next: () => void): void {
    if (this.lifecycle.draining) response.setHeader('Connection', 'close');
    next();
  }
}
