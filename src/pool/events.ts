/** Why a connection left the pool. */
export type CloseReason =
  | 'keep-alive-expired'
  | 'idle-limit'
  | 'evict-all'
  | 'evicted'
  | 'capacity'
  | 'unhealthy'
  | 'peer-closed'
  | 'leaked'
  | 'no-new-exchanges'
  | 'pool-closed'
  | 'error'
  /** A new multiplexed connection gave way to one of its address that had room (its acquirer went there). */
  | 'coalesced'
  /** It reached `maxLifetime` (closed at once if idle, else when its last exchange ended). */
  | 'max-lifetime';

/**
 * Why a request was sent again (see {@link RetryEvent}): the reused connection was reset
 * (`ECONNRESET`, `EPIPE`) or found closed before any response arrived, or an HTTP/2 peer
 * refused the stream (`REFUSED_STREAM`) or sent GOAWAY before processing it.
 */
export type RetryReason = 'connection-reset' | 'connection-closed' | 'stream-refused' | 'goaway';

interface EventBase {
  /** When it happened, in the pool scheduler's milliseconds. */
  readonly at: number;
}

interface ConnectionEventBase extends EventBase {
  readonly connectionId: string;
  /** The connection's address, redacted: never a secret. */
  readonly address: string;
}

/** A connect attempt began. */
export interface ConnectStartEvent extends ConnectionEventBase {
  readonly type: 'connect-start';
}
/** A connect attempt produced a connection, now in the pool. */
export interface ConnectEndEvent extends ConnectionEventBase {
  readonly type: 'connect-end';
  /** How long the connect took (ms). */
  readonly durationMs: number;
  /** The protocol agreed by ALPN (`'h2'`, `'http/1.1'`), when the transport says (see `Transport.alpnProtocol`). */
  readonly alpnProtocol?: string;
  /** The network address the connection reached (an IP), when the transport says (see `Transport.remoteAddress`). */
  readonly remoteAddress?: string;
}
/** A connect attempt failed; the connection was never pooled. */
export interface ConnectFailedEvent extends ConnectionEventBase {
  readonly type: 'connect-failed';
  readonly error: Error;
  readonly durationMs: number;
}
/** A lease was handed out. */
export interface ConnectionAcquiredEvent extends ConnectionEventBase {
  readonly type: 'connection-acquired';
  /** `false` for the acquirer whose connect made the connection. */
  readonly reused: boolean;
  /** Leases now sharing the connection. */
  readonly allocations: number;
  /** How many leases it may carry at once (1 for HTTP/1.1; an HTTP/2 peer's MAX_CONCURRENT_STREAMS). */
  readonly allocationLimit: number;
  /** How long the acquirer waited (ms), connect included. */
  readonly waitedMs: number;
}
/** A lease was released. */
export interface ConnectionReleasedEvent extends ConnectionEventBase {
  readonly type: 'connection-released';
  readonly allocations: number;
  readonly allocationLimit: number;
  /** How long the lease was held (ms). */
  readonly heldMs: number;
}
/** The connection was marked so that it takes no new leases. */
export interface NoNewExchangesEvent extends ConnectionEventBase {
  readonly type: 'no-new-exchanges';
}
/** The connection left the pool and its transport was closed. */
export interface ConnectionClosedEvent extends ConnectionEventBase {
  readonly type: 'connection-closed';
  readonly reason: CloseReason;
  /** Set when the transport's close() threw (it is out of the pool all the same). */
  readonly error?: Error;
}
/** A lease was garbage-collected without being released. */
export interface ConnectionLeakedEvent extends ConnectionEventBase {
  readonly type: 'connection-leaked';
  readonly acquiredAt: number;
  /** Where the lease was acquired, when `captureAcquireStacks` is on; otherwise a hint to turn it on. */
  readonly stack: string;
  readonly message: string;
}
/** A lease has been held longer than `leakDetectionThreshold` (it is not taken back). */
export interface LeaseHeldTooLongEvent extends ConnectionEventBase {
  readonly type: 'lease-held-too-long';
  readonly acquiredAt: number;
  readonly heldMs: number;
  readonly stack: string;
  readonly message: string;
}
/** An acquirer waited `acquireTimeout` for a slot and was rejected (`ERR_ACQUIRE_TIMEOUT`). */
export interface AcquireTimeoutEvent extends EventBase {
  readonly type: 'acquire-timeout';
  /** The redacted address it waited for. */
  readonly address: string;
  readonly waitedMs: number;
}
/** A cleanup pass threw; the loop goes on. */
export interface CleanupFailedEvent extends EventBase {
  readonly type: 'cleanup-failed';
  readonly error: Error;
}
/**
 * A layer above the pool (the undici Dispatcher) sends a request again on a new connection,
 * because the connection it used failed before any response arrived (see `pool.reportRetry`).
 */
export interface RetryEvent extends ConnectionEventBase {
  readonly type: 'retry';
  /** The request's method (`GET`, `PUT`, ...). */
  readonly method: string;
  readonly reason: RetryReason;
}
/** Waiters were shed or the pool started to close. */
export interface PoolClosingEvent extends EventBase {
  readonly type: 'pool-closing';
  /** Leases still held when close() began. */
  readonly leases: number;
}
/** The pool finished closing: nothing is left open. */
export interface PoolClosedEvent extends EventBase {
  readonly type: 'pool-closed';
  /** Connections that had to be closed while still leased, because the drain timed out. */
  readonly forced: number;
}

/** Everything `pool.events$` emits, in the order it happens. */
export type PoolEvent =
  | ConnectStartEvent
  | ConnectEndEvent
  | ConnectFailedEvent
  | ConnectionAcquiredEvent
  | ConnectionReleasedEvent
  | NoNewExchangesEvent
  | ConnectionClosedEvent
  | ConnectionLeakedEvent
  | LeaseHeldTooLongEvent
  | AcquireTimeoutEvent
  | RetryEvent
  | CleanupFailedEvent
  | PoolClosingEvent
  | PoolClosedEvent;

/** The `type` of every {@link PoolEvent}. */
export type PoolEventType = PoolEvent['type'];

// Every event type, as a record so that the compiler flags a type added to PoolEvent and
// missing here.
const EVENT_TYPES: Record<PoolEventType, true> = {
  'connect-start': true,
  'connect-end': true,
  'connect-failed': true,
  'connection-acquired': true,
  'connection-released': true,
  'no-new-exchanges': true,
  'connection-closed': true,
  'connection-leaked': true,
  'lease-held-too-long': true,
  'acquire-timeout': true,
  retry: true,
  'cleanup-failed': true,
  'pool-closing': true,
  'pool-closed': true,
};

/** Every type of event `pool.events$` emits (each also has its `diagnostics_channel`). */
export const POOL_EVENT_TYPES: readonly PoolEventType[] = Object.freeze(Object.keys(EVENT_TYPES) as PoolEventType[]);

/** One tick of the cleanup stream: when it ran and the delay it returned. */
export interface CleanupTick {
  readonly at: number;
  /** What `cleanup(now)` returned last in this tick: ms to the next tick, or -1 (stopped). */
  readonly delay: number;
  /** Connections evicted in this tick (each `cleanup` that returned 0). */
  readonly evicted: number;
}
