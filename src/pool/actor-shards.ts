import { createActor, fromCallback, type AnyActorRef } from 'xstate';
import type { ResolvedPoolOptions } from './options.js';

/**
 * How many connection actors share one actor system, when nobody inspects them. XState keeps
 * every actor of a system in one `Map`, and an actor reaching its final state is deleted from
 * it: in a map of 100k actors each delete misses the CPU caches (and the map is one large array
 * the garbage collector must scan), in one of 1024 it does not. Measured: 10k connection actors
 * of 100k taking EVICT, 100-150 ms CPU in one system, 70-110 ms in systems of 1024.
 */
export const ACTORS_PER_SYSTEM = 1024;

/** One root actor, parent of up to {@link ACTORS_PER_SYSTEM} connection actors (its actor system). */
export class ActorShard {
  /** Actors made in it so far. */
  spawned = 0;
  /** Actors in it not yet in their final state. */
  live = 0;

  constructor(readonly root: AnyActorRef) {}
}

/**
 * The actor systems of one pool's connection actors: actors are made in the newest shard until
 * it has had its share, then in a new one; a shard whose actors have all ended is stopped.
 *
 * With an inspector there is one system only, of unbounded size: an inspector sees the
 * connection actors of the pool as the children of one root, with ids unique in that system.
 */
export class ActorShards {
  readonly #inspect: ResolvedPoolOptions['inspect'];
  readonly #capacity: number;
  readonly #shards = new Set<ActorShard>();
  #current: ActorShard;

  constructor(inspect: ResolvedPoolOptions['inspect']) {
    this.#inspect = inspect;
    this.#capacity = inspect === undefined ? ACTORS_PER_SYSTEM : Infinity;
    this.#current = this.#open();
  }

  /** The shard the next actor is made in (counted as made and live). */
  take(): ActorShard {
    let shard = this.#current;
    if (shard.spawned >= this.#capacity) {
      if (shard.live === 0) this.#close(shard);
      shard = this.#current = this.#open();
    }
    shard.spawned++;
    shard.live++;
    return shard;
  }

  /** An actor of `shard` reached its final state. */
  ended(shard: ActorShard): void {
    shard.live--;
    if (shard.live === 0 && shard !== this.#current) this.#close(shard);
  }

  /** Stops every shard (the pool has closed). */
  stop(): void {
    for (const shard of this.#shards) shard.root.stop();
    this.#shards.clear();
  }

  #open(): ActorShard {
    const inspect = this.#inspect;
    const root = createActor(fromCallback(() => undefined), inspect ? { inspect } : {});
    root.start();
    const shard = new ActorShard(root);
    this.#shards.add(shard);
    return shard;
  }

  #close(shard: ActorShard): void {
    shard.root.stop();
    this.#shards.delete(shard);
  }
}
