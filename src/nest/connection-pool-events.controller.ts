import type { IncomingMessage, ServerResponse } from 'node:http';
import { Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ConnectionPoolEventsService, type PoolEventsQuery } from './connection-pool-events.service.js';

/**
 * The ready-made event stream: `GET <path>?pool=<name>&type=<t1,t2>&address=<a1,a2>` answers
 * `text/event-stream`, one SSE event per pool event (`event:` its type, `id:` a sequence
 * number, `data:` the serialised event), plus `dropped` events where a slow client missed
 * some. `ConnectionPoolEventsModule.forRoot({ path })` mounts a subclass at `path`; extend it
 * to add guards or interceptors.
 *
 * @example
 * ```ts
 * @Controller('admin/pool-events')
 * @UseGuards(AdminGuard)
 * class AdminPoolEvents extends ConnectionPoolEventsController {}
 * ```
 */
export class ConnectionPoolEventsController {
  // @Inject: the class has no class decorator (subclasses get @Controller), so no
  // design:paramtypes is emitted for its constructor; the token is named instead.
  constructor(@Inject(ConnectionPoolEventsService) protected readonly events: ConnectionPoolEventsService) {}

  /** Streams until the client leaves, the pool closes or the application shuts down. */
  @Get()
  stream(@Req() request: IncomingMessage, @Res() response: ServerResponse, @Query() query: PoolEventsQuery): void {
    this.events.stream(request, response, query);
  }
}
