import type { Actor } from 'xstate';
import type { ActorShard } from './actor-shards.js';
import type { Address } from './address.js';
import type { ConnectionState, connectionMachine } from './connection.machine.js';
import type { CloseReason } from './events.js';
import type { HeapEntry } from './expiry-heap.js';
import type { ConnectionView, Lease } from './lease.js';
import { LinkedList, ListNode } from './linked-list.js';
import type { Transport } from './transport.js';

// The engine's records: plain data with O(1) bookkeeping, no behaviour of their own. They
// point at each other (a bucket lists its connections and waiters and each knows its bucket; a
// lease slot knows its connection, which keeps its free holders), so they live in one module:
// split over several, their types would import each other in a circle.

/** Where the pool is with a connection; the actor's state follows from it. */
export type ConnectionPhase = 'connecting' | 'open' | 'evicted';

/**
 * The pool's record of one connection: its actor, its transport and the O(1) bookkeeping
 * of the hot path. The actor is the truth about the lifecycle; `allocations` is the hot
 * path's intent, which the pool hands to the actor (`idle ⇄ inUse`) before anything reads
 * the actor. An acquire followed by a release with nobody looking leaves the actor where it
 * was, so it costs no transition at all (see `ConnectionActors`).
 */
export class PooledConnection {
  readonly actor: Actor<typeof connectionMachine>;
  /** The actor system its actor lives in (see `ActorShards`). */
  readonly actorShard: ActorShard;
  phase: ConnectionPhase = 'connecting';
  /** The state the actor is in now (kept to avoid reading a snapshot on the hot path). */
  actorState: ConnectionState = 'connecting';
  /** True while the actor lags behind `allocations` and is queued for a sync. */
  dirty = false;
  transport: Transport | null = null;
  /** Leases holding this connection now. */
  allocations = 0;
  noNewExchanges = false;
  /** The close reason once its last lease is released, after noNewExchanges was set. */
  drainReason: CloseReason = 'no-new-exchanges';
  connectedAt = 0;
  /** When the connection last became idle (scheduler ms). */
  idleAt = 0;
  /** When an idle connection with a life shorter than keepAlive expires (see `Transport.idleTimeout`). */
  expiresAt = Infinity;
  /** Its place in the heap of short-lived idle connections, or -1. */
  heapIndex = -1;
  /** When `maxLifetime` retires it (Infinity: never, or no longer tracked). */
  retireAt = Infinity;
  /** Its entry in the lifetime heap (see `LifetimeIndex`), while it has one. */
  lifetimeEntry: HeapEntry | null = null;
  /** Lease holders not lent out, reused so that leak detection costs nothing per acquire. */
  readonly freeHolders: LeaseHolder[] = [];
  /** This connection's place among all idle connections, in idle order. */
  readonly idleNode: ListNode<PooledConnection>;
  /** This connection's place among its address's idle connections (LIFO reuse). */
  readonly bucketIdleNode: ListNode<PooledConnection>;
  /** Set while a connect is in flight: aborting it fails the connect. */
  connectAbort: AbortController | null = null;
  /** The listener given to `transport.on('close')`, kept to remove it. */
  closeListener: (() => void) | null = null;
  /** A live `{ id, state }` view, made on first use and shared by this connection's leases. */
  view: ConnectionView | null = null;

  constructor(
    readonly id: string,
    /** The number in its id, for the registry (see `ConnectionRegistry`). */
    readonly serial: number,
    readonly bucket: AddressBucket,
    readonly createdAt: number,
    spawned: { readonly actor: Actor<typeof connectionMachine>; readonly shard: ActorShard },
  ) {
    this.actor = spawned.actor;
    this.actorShard = spawned.shard;
    this.idleNode = new ListNode<PooledConnection>(this);
    this.bucketIdleNode = new ListNode<PooledConnection>(this);
  }

  get address(): Address {
    return this.bucket.address;
  }

  /** How many leases may share it: the transport's limit, 1 by default. */
  get allocationLimit(): number {
    const limit = this.transport?.allocationLimit;
    return limit === undefined || !(limit >= 1) ? 1 : limit;
  }

  /** The state the actor must be in, given what the pool knows now. */
  get desiredState(): ConnectionState {
    if (this.phase === 'open') return this.allocations > 0 ? 'inUse' : 'idle';
    return this.phase === 'connecting' ? 'connecting' : 'evicted';
  }

  get isIdle(): boolean {
    return this.idleNode.list !== null;
  }
}

/** Everything the pool keeps per address key. */
export class AddressBucket {
  /** Connections of this address, connecting ones included (for `maxConnectionsPerAddress`). */
  count = 0;
  /** Idle connections, oldest first; reuse takes the tail (LIFO). */
  readonly idle = new LinkedList<PooledConnection>();
  /** Multiplexed connections in use that may take more leases (for "least loaded first"). */
  readonly multiplexed = new Set<PooledConnection>();
  /** Acquirers waiting for this address, in arrival order. */
  readonly waiters = new LinkedList<Waiter>();
  /**
   * Acquirers with `coalesce` waiting for a multiplexed connection being made, rather than
   * each making its own (see `AcquireOptions.coalesce`).
   */
  readonly parked = new LinkedList<Waiter>();
  /** Connects in flight for this address. */
  connecting = 0;
  /** The allocation limit of this address's last connection: above 1, the address is multiplexed (HTTP/2). */
  multiplexLimit = 1;
  /** True while the registry holds it as its address's bucket. */
  registered = false;

  constructor(readonly address: Address) {}

  get isEmpty(): boolean {
    return this.count === 0 && this.waiters.size === 0 && this.parked.size === 0;
  }

  /** How many acquirers the connects in flight are expected to carry besides their own. */
  get coverage(): number {
    return this.multiplexLimit > 1 ? this.connecting * (this.multiplexLimit - 1) : 0;
  }
}

/**
 * An acquirer that could not be served at once: it waits in its address's queue and in the
 * pool's queue (arrival order across addresses), or is connecting its own connection.
 */
export class Waiter {
  readonly bucketNode: ListNode<Waiter>;
  readonly poolNode: ListNode<Waiter>;
  /** Its place among the waiters timed by acquireTimeout (see `DeadlineQueue`). */
  readonly deadlineNode: ListNode<Waiter>;
  /** Removes the AbortSignal listener. */
  detachSignal: (() => void) | null = null;
  settled = false;
  /** True while it waits, parked, for a multiplexed connection being made (see `AddressBucket.parked`). */
  parked = false;
  /** False once it has waited parked as long as `multiplexedOrigins.maxWait`: it may not park again. */
  mayPark = true;
  /** Its place among the parked waiters timed by `multiplexedOrigins.maxWait`. */
  readonly parkNode: ListNode<Waiter>;

  constructor(
    readonly bucket: AddressBucket,
    readonly startedAt: number,
    readonly signal: AbortSignal | undefined,
    /** Where acquire() was called, when captureAcquireStacks is on. */
    readonly stack: string | undefined,
    readonly resolve: (lease: Lease) => void,
    readonly reject: (error: Error) => void,
    /** `reuse: false`: it takes no idle connection, but a new one (see `AcquireOptions.reuse`). */
    readonly fresh = false,
    /** `coalesce: true`: see `AcquireOptions.coalesce`. */
    readonly coalesce = false,
  ) {
    this.bucketNode = new ListNode<Waiter>(this);
    this.poolNode = new ListNode<Waiter>(this);
    this.deadlineNode = new ListNode<Waiter>(this);
    this.parkNode = new ListNode<Waiter>(this);
  }
}

/**
 * What the leak registry remembers of one lease, kept apart from the lease so that it does not
 * keep the lease alive: which connection, since when, and from where.
 */
export class LeaseSlot {
  /** True while a lease holds this slot's holder. */
  live = false;
  acquiredAt = 0;
  stack: string | undefined = undefined;
  /** What the lease is for (see `Lease.describe`). */
  purpose: string | undefined = undefined;
  /** Place in the held-too-long watch list, in acquire order. */
  readonly watchNode: ListNode<LeaseSlot>;

  /**
   * Its connection; null once the connection has closed while this slot was free (see
   * `LeaseLedger.forget`). A live slot always has its connection.
   */
  connection: PooledConnection | null;

  constructor(connection: PooledConnection) {
    this.connection = connection;
    this.watchNode = new ListNode<LeaseSlot>(this);
  }
}

/**
 * The object a lease holds and the FinalizationRegistry watches. Holders are registered once
 * and reused: a lease drops its holder on release and the connection keeps it for the next
 * lease, so a holder becomes garbage only when a lease holding it does: a leak. That makes
 * leak detection free per acquire (registering each lease costs 200-300 ns).
 */
export class LeaseHolder {
  constructor(readonly slot: LeaseSlot) {}
}

/** Counts since the pool was made (see `PoolStats.totals`). */
export interface PoolTotals {
  connects: number;
  connectFailures: number;
  acquired: number;
  reused: number;
  released: number;
  closed: number;
  leaked: number;
  acquireTimeouts: number;
}

export function newTotals(): PoolTotals {
  return { connects: 0, connectFailures: 0, acquired: 0, reused: 0, released: 0, closed: 0, leaked: 0, acquireTimeouts: 0 };
}
