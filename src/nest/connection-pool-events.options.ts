import { InvalidOptionError, parseDuration, type Duration } from '../pool/index.js';

/** Options of `ConnectionPoolEventsModule.forRoot()`. */
export interface ConnectionPoolEventsOptions {
  /**
   * The route of the ready-made controller (`GET <path>?pool=&type=&address=`), or `false`
   * for none (use {@link ConnectionPoolEventsService} in a route of your own). Default
   * `'connection-pool/events'`.
   */
  readonly path?: string | false;
  /** Events kept per client that does not keep up; past it they are dropped and counted. Default 1000. */
  readonly maxBufferedEvents?: number;
  /**
   * How often a comment is written to an idle stream, so that proxies do not cut it; timed
   * by the pool's scheduler. Default `'15s'`; `false` for none.
   */
  readonly heartbeat?: Duration | false;
}

/** The options in force. */
export interface ResolvedConnectionPoolEventsOptions {
  readonly path: string | false;
  readonly maxBufferedEvents: number;
  /** Milliseconds, or null for no heartbeat. */
  readonly heartbeatMs: number | null;
}

/** The defaults, for a service used without `forRoot()`. */
export const DEFAULT_EVENTS_OPTIONS: ResolvedConnectionPoolEventsOptions = {
  path: 'connection-pool/events',
  maxBufferedEvents: 1_000,
  heartbeatMs: 15_000,
};

/**
 * Validates the options of the event stream.
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value.
 */
export function resolveEventsOptions(options: ConnectionPoolEventsOptions = {}): ResolvedConnectionPoolEventsOptions {
  const path = options.path ?? DEFAULT_EVENTS_OPTIONS.path;
  if (path !== false && typeof path !== 'string') {
    throw new InvalidOptionError('path', path, 'a route path such as "connection-pool/events", or false for no controller');
  }
  const max = options.maxBufferedEvents ?? DEFAULT_EVENTS_OPTIONS.maxBufferedEvents;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
    throw new InvalidOptionError('maxBufferedEvents', max, 'an integer >= 0');
  }
  const heartbeat = options.heartbeat;
  const heartbeatMs =
    heartbeat === false ? null : heartbeat === undefined ? DEFAULT_EVENTS_OPTIONS.heartbeatMs : parseDuration('heartbeat', heartbeat, false);
  return { path, maxBufferedEvents: max, heartbeatMs };
}
