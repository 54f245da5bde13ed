import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BadRequestException,
  Inject,
  Injectable,
  NotFoundException,
  Optional,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type MessageEvent,
} from '@nestjs/common';
import { Observable, Subject, defer, filter, interval, map, share, takeUntil, type Subscription } from 'rxjs';
import { InvalidOptionError, type ConnectionPool, type PoolEvent } from '../pool/index.js';
import { DEFAULT_EVENTS_OPTIONS, type ResolvedConnectionPoolEventsOptions } from './connection-pool-events.options.js';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';
import { CONNECTION_POOL_EVENTS_OPTIONS, DEFAULT_POOL_NAME } from './connection-pool.tokens.js';
import { matchesPoolEventFilter, parsePoolEventFilter, type PoolEventFilter, type PoolEventFilterQuery } from './pool-event.filter.js';
import { serializePoolEvent } from './pool-event.serializer.js';
import { SseEventWriter, type SseStreamStats } from './sse-event.writer.js';

/** The query of an event stream: which pool, which types, which addresses. */
export interface PoolEventsQuery extends PoolEventFilterQuery {
  /** The pool's name. Default: the default pool. */
  readonly pool?: string;
}

/** One client of {@link ConnectionPoolEventsService.stream}, as {@link ConnectionPoolEventsService.clients} lists it. */
export interface PoolEventsClient extends SseStreamStats {
  readonly pool: string;
}

/** A pool event and its JSON, made once (when a stream first shows it) for every stream that shows it. */
class SerializedEvent {
  #json: string | undefined;

  constructor(readonly event: PoolEvent) {}

  get json(): string {
    this.#json ??= JSON.stringify(serializePoolEvent(this.event));
    return this.#json;
  }
}

interface OpenStream {
  readonly pool: string;
  readonly writer: SseEventWriter;
  close(): void;
}

/**
 * A pool's live events, filtered and made safe to show (errors as `{ name, message, code }`,
 * text redacted: see `serializePoolEvent`), as Server-Sent Events.
 *
 * - {@link stream} writes them to a response itself, with a bounded buffer per client: a slow
 *   or stuck client cannot make memory grow; what it misses is counted and reported to it as
 *   an event `dropped`. The ready-made controller of `ConnectionPoolEventsModule` uses it.
 * - {@link messages} gives them as an `Observable<MessageEvent>` for an `@Sse()` route of your
 *   own; Nest then buffers for a slow client, up to the route's `maxPendingDataLength`, and
 *   disconnects it past that (no drop counting).
 *
 * Event ids count the matching events of the stream, so a gap in ids also shows a drop.
 */
@Injectable()
export class ConnectionPoolEventsService implements BeforeApplicationShutdown {
  readonly #pools: ConnectionPoolRegistry;
  readonly #options: ResolvedConnectionPoolEventsOptions;
  readonly #streams = new Set<OpenStream>();
  /** Each pool's events with their JSON, shared by its streams: an event is serialised once, whatever the number of readers. */
  readonly #serialized = new WeakMap<ConnectionPool, Observable<SerializedEvent>>();
  /** Completes the observables of {@link messages} on shutdown, so that Nest ends their responses. */
  readonly #shutdown$ = new Subject<void>();
  #shuttingDown = false;

  constructor(
    pools: ConnectionPoolRegistry,
    @Optional() @Inject(CONNECTION_POOL_EVENTS_OPTIONS) options?: ResolvedConnectionPoolEventsOptions,
  ) {
    this.#pools = pools;
    this.#options = options ?? DEFAULT_EVENTS_OPTIONS;
  }

  /**
   * Events of the pool named in `query` that match its filter, as `MessageEvent`s (`type`:
   * the event type, `id`: a sequence number, `data`: the serialised event).
   *
   * @example
   * ```ts
   * @Sse('pool-events')
   * events(@Query() query: PoolEventsQuery): Observable<MessageEvent> {
   *   return this.poolEvents.messages(query);
   * }
   * ```
   * @throws NotFoundException for an unknown pool; BadRequestException for a bad filter;
   * ServiceUnavailableException once the application is shutting down.
   */
  messages(query: PoolEventsQuery = {}): Observable<MessageEvent> {
    const { pool, filter: selected } = this.#select(query);
    return defer(() => {
      let id = 0;
      return pool.events$.pipe(
        takeUntil(this.#shutdown$),
        filter((event) => matchesPoolEventFilter(selected, event)),
        map((event): MessageEvent => ({ type: event.type, id: String(++id), data: serializePoolEvent(event) })),
      );
    });
  }

  /**
   * Serves the events of the pool named in `query` on `response` until the client goes, the
   * pool closes or the application shuts down. Validates the query first, so that a bad one
   * is answered by Nest's exception filters (404 / 400) before any header is sent.
   *
   * @example
   * ```ts
   * @Get('pool-events')
   * events(@Req() req: Request, @Res() res: Response, @Query() query: PoolEventsQuery): void {
   *   this.poolEvents.stream(req, res, query);
   * }
   * ```
   * @throws NotFoundException for an unknown pool; BadRequestException for a bad filter;
   * ServiceUnavailableException once the application is shutting down.
   */
  stream(request: IncomingMessage, response: ServerResponse, query: PoolEventsQuery = {}): void {
    const { name, pool, filter: selected } = this.#select(query);
    const raw = rawOf(response);
    const writer = new SseEventWriter(raw, { maxBufferedEvents: this.#options.maxBufferedEvents });
    writer.open(rawOf(request));
    let id = 0;
    const subscriptions: Subscription[] = [];
    const stream: OpenStream = {
      pool: name,
      writer,
      close: () => {
        if (!this.#streams.delete(stream)) return;
        for (const subscription of subscriptions) subscription.unsubscribe();
        raw.off('close', stream.close);
        writer.end();
      },
    };
    this.#streams.add(stream);
    raw.on('close', stream.close);
    // The client may have gone already (its 'close' will not come again).
    if (raw.destroyed) {
      stream.close();
      return;
    }
    const serialized = this.#serializedEventsOf(pool);
    // Most readers want everything: no operator in between for them (a stream sees every event of the pool).
    const unfiltered = selected.types === null && selected.addresses === null;
    subscriptions.push(
      (unfiltered ? serialized : serialized.pipe(filter(({ event }) => matchesPoolEventFilter(selected, event)))).subscribe({
        next: (serialized) => {
          writer.send({ id: ++id, event: serialized.event.type, data: serialized.json });
        },
        complete: () => stream.close(),
      }),
    );
    if (this.#options.heartbeatMs !== null && this.#streams.has(stream)) {
      subscriptions.push(interval(this.#options.heartbeatMs, pool.options.scheduler).subscribe(() => writer.comment('heartbeat')));
    }
  }

  /** The streams open now, with what each has written, queued and dropped. */
  clients(): PoolEventsClient[] {
    return [...this.#streams].map((stream) => ({ pool: stream.pool, ...stream.writer.stats }));
  }

  /**
   * Ends every stream (those of {@link stream} and of {@link messages}) before the HTTP
   * server closes: a server waits for open responses, and an event stream never ends by itself.
   */
  beforeApplicationShutdown(): void {
    this.#shuttingDown = true;
    for (const stream of [...this.#streams]) stream.close();
    this.#shutdown$.next();
  }

  #serializedEventsOf(pool: ConnectionPool): Observable<SerializedEvent> {
    let serialized = this.#serialized.get(pool);
    if (serialized === undefined) {
      serialized = pool.events$.pipe(
        map((event) => new SerializedEvent(event)),
        share(),
      );
      this.#serialized.set(pool, serialized);
    }
    return serialized;
  }

  #select(query: PoolEventsQuery): { name: string; pool: ConnectionPool; filter: PoolEventFilter } {
    // A stream opened now (on a keep-alive connection) would hold the closing server open.
    if (this.#shuttingDown) throw new ServiceUnavailableException('The application is shutting down: no new event streams.');
    const name = query.pool ?? DEFAULT_POOL_NAME;
    if (typeof name !== 'string') throw new BadRequestException('The query parameter "pool" must be given once.');
    const registration = this.#pools.find(name);
    if (registration === undefined) {
      const known = this.#pools.list().map((r) => r.name).join(', ') || 'none';
      throw new NotFoundException(`No connection pool is named "${name}" (pools: ${known}).`);
    }
    let selected: PoolEventFilter;
    try {
      selected = parsePoolEventFilter(query);
    } catch (error) {
      if (error instanceof InvalidOptionError) throw new BadRequestException(error.message);
      throw error;
    }
    return { name, pool: registration.pool, filter: selected };
  }
}

/** The Node object under a framework's wrapper (Fastify's `reply.raw`, `request.raw`). */
function rawOf<T extends object>(value: T): T {
  const raw = (value as { raw?: unknown }).raw;
  return typeof raw === 'object' && raw !== null ? (raw as T) : value;
}
