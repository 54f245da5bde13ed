import type { Actor } from 'xstate';
import type { Address } from './address.js';
import type { AddressBucket } from './address-bucket.js';
import type { ConnectionState, connectionMachine } from './connection.machine.js';
import type { CloseReason } from './events.js';
import type { LeaseHolder } from './lease.js';
import { ListNode } from './linked-list.js';
import type { Transport } from './transport.js';

/** Where the pool is with a connection; the actor's state follows from it. */
export type ConnectionPhase = 'connecting' | 'open' | 'evicted';

/**
 * The pool's record of one connection: its actor, its transport and the O(1) bookkeeping
 * of the hot path. The actor is the truth about the lifecycle; `allocations` is the hot
 * path's intent, which the pool hands to the actor (`idle ⇄ inUse`) before anything reads
 * the actor. An acquire followed by a release with nobody looking leaves the actor where it
 * was, so it costs no transition at all.
 */
export class PooledConnection {
  readonly actor: Actor<typeof connectionMachine>;
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
  /** Its place in the pool's heap of short-lived idle connections, or -1. */
  heapIndex = -1;
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
    readonly bucket: AddressBucket,
    readonly createdAt: number,
    actor: Actor<typeof connectionMachine>,
  ) {
    this.actor = actor;
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

/** A live view of a connection: reading `state` asks its actor now. */
export interface ConnectionView {
  readonly id: string;
  readonly state: ConnectionState;
}
