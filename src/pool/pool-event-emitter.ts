import { channel, type Channel } from 'node:diagnostics_channel';
import { Subject, config, type Observable } from 'rxjs';
import { CallbackFailures } from './callback-failures.js';
import { POOL_EVENT_TYPES, type PoolEvent, type PoolEventType } from './events.js';

/** Each event type is published on the `diagnostics_channel` named this and the type. */
export const DIAGNOSTICS_CHANNEL_PREFIX = 'reactive-connection-pool:';

/**
 * The channels, made once and held here: `diagnostics_channel` keeps a channel only while
 * someone holds it, and a subscriber that comes later gets this same object.
 */
const CHANNELS = Object.fromEntries(POOL_EVENT_TYPES.map((type) => [type, channel(DIAGNOSTICS_CHANNEL_PREFIX + type)])) as Readonly<Record<PoolEventType, Channel>>;

/**
 * The channel of `type`, for a call site that checks it on the hot path: held in a constant
 * there, it is checked with a named property load, where `wants(type)` looks it up by a key
 * that changes from one call site to the next (a megamorphic keyed load, measurable per lease).
 */
export function eventChannel(type: PoolEventType): Channel {
  return CHANNELS[type];
}

/**
 * Where the pool's events go out: `pool.events$`, and Node's `diagnostics_channel`
 * `reactive-connection-pool:<type>` (the same event object, as `events$` gives it), both
 * synchronously and in the order things happen. Every part of the engine asks `wants(type)`
 * before it builds an event, so that an event nobody watches costs nothing (no object, no
 * clock read, no string): neither `events$` nor that type's channel has a subscriber.
 *
 * A subscriber of `events$` that throws (in its own callback or in an operator of its chain)
 * stops neither the pool, nor the other subscribers, nor the process: RxJS would report the
 * error as unhandled on a timer, which exits Node. While an event is delivered, RxJS's
 * synchronous error handling is on, so that the error comes back here, where it is reported
 * once as a warning (see {@link CallbackFailures}) and dropped. A channel's subscribers are
 * Node's to call: `diagnostics_channel` rethrows their errors on the next tick, as for any
 * channel.
 */
export class PoolEventEmitter {
  readonly #subject = new Subject<PoolEvent>();
  readonly #events$ = this.#subject.asObservable();
  /** Where the errors of the user's callbacks are reported (events$ subscribers, inspect, hooks). */
  readonly failures = new CallbackFailures();

  /** Every event; completes when the pool has closed. */
  get events$(): Observable<PoolEvent> {
    return this.#events$;
  }

  /** True when someone listens to events of `type` (on `events$` or its channel): such an event is worth building. */
  wants(type: PoolEventType): boolean {
    return this.#subject.observed || CHANNELS[type].hasSubscribers;
  }

  /** `wants(type)` for the channel of `type` (see {@link eventChannel}). */
  wantsOn(channel: Channel): boolean {
    return this.#subject.observed || channel.hasSubscribers;
  }

  emit(event: PoolEvent): void {
    if (this.#subject.observed) this.#deliver(() => this.#subject.next(event));
    const published = CHANNELS[event.type];
    if (published.hasSubscribers) published.publish(event);
  }

  /** The pool has closed: no event follows. */
  complete(): void {
    this.#deliver(() => this.#subject.complete());
  }

  #deliver(send: () => void): void {
    const previous = config.useDeprecatedSynchronousErrorHandling;
    config.useDeprecatedSynchronousErrorHandling = true;
    try {
      send();
    } catch (error) {
      this.failures.report('events$ subscriber', error);
    } finally {
      config.useDeprecatedSynchronousErrorHandling = previous;
    }
  }
}
