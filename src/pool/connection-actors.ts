import { createActor, fromCallback, type Actor } from 'xstate';
import { ActorShards, type ActorShard } from './actor-shards.js';
import { connectionMachine, type ConnectionMachineEvent, type ConnectionState, type EvictEvent } from './connection.machine.js';
import type { CloseReason } from './events.js';
import type { ConnectionView } from './lease.js';
import type { ResolvedPoolOptions } from './options.js';
import type { PooledConnection } from './pool-records.js';
import type { Transport } from './transport.js';

const ACQUIRE_EVENT: ConnectionMachineEvent = { type: 'ACQUIRE' };
const RELEASE_EVENT: ConnectionMachineEvent = { type: 'RELEASE' };

/** One EVICT event per reason, made once: events are never changed, and a mass eviction need not make 10k. */
const EVICT_EVENTS = new Map<CloseReason, EvictEvent>();

function evictEvent(reason: CloseReason): EvictEvent {
  let event = EVICT_EVENTS.get(reason);
  if (event === undefined) {
    event = Object.freeze({ type: 'EVICT', reason });
    EVICT_EVENTS.set(reason, event);
  }
  return event;
}

/** Throwaway lifecycles run once per process (see {@link warmUpTransitions}). */
const WARM_UP_LIFECYCLES = 16;
const WARM_UP_REASONS: readonly CloseReason[] = ['keep-alive-expired', 'idle-limit', 'evicted', 'peer-closed'];
let warmedUp = false;

/**
 * Runs a few throwaway connection actors through every transition of the machine (the final
 * one included), once per process, before the first pool makes its own actors.
 *
 * Why: V8 compiles XState's transition code (`macrostep`, `microstep`, `enterStates`,
 * `Actor.update`...) for the types it has seen. A pool that fills up sends its actors
 * CONNECTED and nothing else (`idle ⇄ inUse` is deferred, nothing is evicted yet), so that
 * code is compiled for CONNECTED only; the first mass eviction then deoptimises it, and runs
 * the next thousands of EVICTs in the interpreter until V8 has compiled it again (traced with
 * `--trace-opt --trace-deopt`: re-optimised between the 1,000th and the 6,000th eviction of a
 * 10k eviction in a fresh process). Having seen every transition first, V8 compiles that code
 * for all of them from the start. See bench/RESULTS.md, "Cold mass eviction".
 */
function warmUpTransitions(): void {
  if (warmedUp) return;
  warmedUp = true;
  const root = createActor(fromCallback(() => undefined));
  root.start();
  const transport: Transport = { close: () => undefined };
  for (let i = 0; i < WARM_UP_LIFECYCLES; i++) {
    const actor = createActor(connectionMachine, { parent: root, input: { id: `warm-up-${i}` } });
    actor.start();
    if (i % 8 === 7) {
      actor.send({ type: 'CONNECT_FAILED', error: new Error('warm-up') });
      continue;
    }
    actor.send({ type: 'CONNECTED', transport });
    actor.send(ACQUIRE_EVENT);
    actor.send(RELEASE_EVENT);
    actor.send(evictEvent(WARM_UP_REASONS[i % WARM_UP_REASONS.length] as CloseReason));
  }
  root.stop();
}

/** Connections by what their actor says (evicted ones have left the pool). */
export interface ActorCounts {
  readonly connecting: number;
  readonly idle: number;
  readonly inUse: number;
}

/** A connection's new actor, and the actor system it lives in. */
export interface SpawnedActor {
  readonly actor: Actor<typeof connectionMachine>;
  readonly shard: ActorShard;
}

/**
 * The connection actors: one XState actor per connection, children of a few roots (actor
 * systems of up to 1024 actors, see `ActorShards`; one system, with the inspector, when there is
 * one).
 *
 * The lifecycle's edges (`connecting → idle`, a failed connect, `→ evicted`) reach the actor
 * as they happen. `idle ⇄ inUse` does not, unless an inspector watches: the hot path only
 * marks the connection dirty, and every lagging actor is brought up to date before anything
 * reads an actor (a view's `state`, `connections()`, `stats()`). An acquire and a release with
 * nobody looking then cost no transition at all, and what anyone reads is still the actor.
 */
export class ConnectionActors {
  readonly #shards: ActorShards;
  /** With an inspector every transition is sent as it happens, so that it sees each one. */
  readonly #eager: boolean;
  /** Connections whose actor lags behind their allocations, synced before any read. */
  readonly #dirty: PooledConnection[] = [];
  readonly #counts = { connecting: 0, idle: 0, inUse: 0 };

  constructor(inspect: ResolvedPoolOptions['inspect']) {
    warmUpTransitions();
    this.#eager = inspect !== undefined;
    this.#shards = new ActorShards(inspect);
  }

  /** Connections being connected (exact at any time: their edges are never deferred). */
  get connecting(): number {
    return this.#counts.connecting;
  }

  /** A started actor, in `connecting`, for the connection `id` whose connect begins, and the shard it lives in. */
  spawn(id: string): SpawnedActor {
    const shard = this.#shards.take();
    const actor = createActor(connectionMachine, { parent: shard.root, input: { id } });
    actor.start();
    this.#counts.connecting++;
    return { actor, shard };
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
    this.#shards.ended(connection.actorShard);
  }

  /** An open connection leaves the pool: `idle | inUse → evicted`, with `reason` as output. */
  evict(connection: PooledConnection, reason: CloseReason): void {
    this.#counts[connection.actorState as 'idle' | 'inUse']--;
    connection.actorState = 'evicted';
    connection.actor.send(evictEvent(reason));
    this.#shards.ended(connection.actorShard);
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

  /** Stops the roots (the pool has closed; every connection actor has reached `evicted`). */
  stop(): void {
    this.#shards.stop();
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
