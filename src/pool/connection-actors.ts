import { createActor, fromCallback, type Actor, type AnyActorRef } from 'xstate';
import { connectionMachine, type ConnectionMachineEvent, type ConnectionState } from './connection.machine.js';
import type { CloseReason } from './events.js';
import type { ConnectionView } from './lease.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PooledConnection } from './pool-records.js';
import type { Transport } from './transport.js';

const ACQUIRE_EVENT: ConnectionMachineEvent = { type: 'ACQUIRE' };
const RELEASE_EVENT: ConnectionMachineEvent = { type: 'RELEASE' };

/** Connections by what their actor says (evicted ones have left the pool). */
export interface ActorCounts {
  readonly connecting: number;
  readonly idle: number;
  readonly inUse: number;
}

/**
 * The connection actors: one XState actor per connection, children of one root so that they
 * share an actor system (and the inspector, if any).
 *
 * The lifecycle's edges (`connecting → idle`, a failed connect, `→ evicted`) reach the actor
 * as they happen. `idle ⇄ inUse` does not, unless an inspector watches: the hot path only
 * marks the connection dirty, and every lagging actor is brought up to date before anything
 * reads an actor (a view's `state`, `connections()`, `stats()`). An acquire and a release with
 * nobody looking then cost no transition at all, and what anyone reads is still the actor.
 */
export class ConnectionActors {
  readonly #root: AnyActorRef;
  /** With an inspector every transition is sent as it happens, so that it sees each one. */
  readonly #eager: boolean;
  /** Connections whose actor lags behind their allocations, synced before any read. */
  readonly #dirty: PooledConnection[] = [];
  readonly #counts = { connecting: 0, idle: 0, inUse: 0 };

  constructor(inspect: ResolvedPoolOptions['inspect']) {
    this.#eager = inspect !== undefined;
    const root = createActor(fromCallback(() => undefined), inspect ? { inspect } : {});
    root.start();
    this.#root = root;
  }

  /** Connections being connected (exact at any time: their edges are never deferred). */
  get connecting(): number {
    return this.#counts.connecting;
  }

  /** A started actor, in `connecting`, for the connection `id` whose connect begins. */
  spawn(id: string): Actor<typeof connectionMachine> {
    const actor = createActor(connectionMachine, { parent: this.#root, input: { id } });
    actor.start();
    this.#counts.connecting++;
    return actor;
  }

  /** The connect of `connection` produced `transport`: `connecting → idle`. */
  connected(connection: PooledConnection, transport: Transport): void {
    connection.actor.send({ type: 'CONNECTED', transport });
    this.#counts.connecting--;
    this.#counts.idle++;
    connection.actorState = 'idle';
  }

  /** The connect of `connection` failed: `connecting → evicted`, with the error as output. */
  connectFailed(connection: PooledConnection, error: Error): void {
    connection.actor.send({ type: 'CONNECT_FAILED', error });
    connection.actorState = 'evicted';
    this.#counts.connecting--;
  }

  /** An open connection leaves the pool: `idle | inUse → evicted`, with `reason` as output. */
  evict(connection: PooledConnection, reason: CloseReason): void {
    this.#counts[connection.actorState as 'idle' | 'inUse']--;
    connection.actorState = 'evicted';
    connection.actor.send({ type: 'EVICT', reason });
  }

  /** Records that `connection`'s actor must change; does it now only if someone watches transitions. */
  touch(connection: PooledConnection): void {
    if (this.#eager) {
      this.#sync(connection);
    } else if (!connection.dirty) {
      connection.dirty = true;
      this.#dirty.push(connection);
    }
  }

  /** Brings every lagging actor up to date; called before anything reads the actors. */
  flush(): void {
    const dirty = this.#dirty;
    if (dirty.length === 0) return;
    for (const connection of dirty) {
      connection.dirty = false;
      if (connection.phase === 'open') this.#sync(connection);
    }
    dirty.length = 0;
  }

  /** Counts by state, as the actors say (after a flush). */
  counts(): ActorCounts {
    this.flush();
    return this.#counts;
  }

  /** What `connection`'s actor says now (the caller flushed). */
  stateOf(connection: PooledConnection): ConnectionState {
    return connection.actor.getSnapshot().value as ConnectionState;
  }

  /** A live `{ id, state }` view of `connection`, shared by its leases. */
  viewOf(connection: PooledConnection): ConnectionView {
    if (connection.view === null) {
      const flush = (): void => this.flush();
      connection.view = {
        id: connection.id,
        get state(): ConnectionState {
          if (connection.dirty) flush();
          return connection.actor.getSnapshot().value as ConnectionState;
        },
      };
    }
    return connection.view;
  }

  /** Stops the root (the pool has closed; every connection actor has reached `evicted`). */
  stop(): void {
    this.#root.stop();
  }

  #sync(connection: PooledConnection): void {
    const desired = connection.desiredState;
    const current = connection.actorState;
    if (desired === current || (desired !== 'idle' && desired !== 'inUse')) return;
    connection.actor.send(desired === 'inUse' ? ACQUIRE_EVENT : RELEASE_EVENT);
    this.#counts[current as 'idle' | 'inUse']--;
    this.#counts[desired]++;
    connection.actorState = desired;
  }
}
