import { Injectable } from '@nestjs/common';
import { InvalidOptionError, type ConnectionPool } from '../pool/index.js';
import { ConnectionPoolActivity } from './connection-pool.activity.js';
import { DEFAULT_POOL_NAME, assertPoolName } from './connection-pool.tokens.js';

/** One pool registered with `ConnectionPoolModule`, and what watches it. */
export interface RegisteredConnectionPool {
  readonly name: string;
  readonly pool: ConnectionPool;
  /** Recent connects, leaks and acquire timeouts, for readiness. */
  readonly activity: ConnectionPoolActivity;
}

/** Called with every pool registered, those already there first. */
export type ConnectionPoolRegistryListener = (registration: RegisteredConnectionPool) => void;

/**
 * Every pool of the application, by name. `ConnectionPoolModule` registers each pool it
 * makes; the health indicator, the metrics and the event stream find pools here, so that
 * they work with pools of any module, global or not.
 *
 * One per application (it is provided by a global core module), so two applications in one
 * process (tests) never see each other's pools.
 */
@Injectable()
export class ConnectionPoolRegistry {
  readonly #pools = new Map<string, RegisteredConnectionPool>();
  readonly #listeners = new Set<ConnectionPoolRegistryListener>();

  /**
   * Registers `pool` under `name` and starts watching its activity.
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`, option `name`) if the name is taken.
   */
  register(name: string, pool: ConnectionPool): RegisteredConnectionPool {
    assertPoolName(name);
    if (this.#pools.has(name)) {
      throw new InvalidOptionError(
        'name',
        name,
        'a name that no other ConnectionPoolModule.forRoot()/forRootAsync() of this application uses: give each pool its own name',
      );
    }
    const registration: RegisteredConnectionPool = { name, pool, activity: new ConnectionPoolActivity(pool) };
    this.#pools.set(name, registration);
    for (const listener of [...this.#listeners]) listener(registration);
    return registration;
  }

  /** Forgets a registration (after its pool closed) and stops watching it. */
  unregister(registration: RegisteredConnectionPool): void {
    if (this.#pools.get(registration.name) !== registration) return;
    this.#pools.delete(registration.name);
    registration.activity.dispose();
  }

  /**
   * The registration named `name` (the default pool if none).
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`, option `pool`) naming the pools there are.
   */
  get(name: string = DEFAULT_POOL_NAME): RegisteredConnectionPool {
    const registration = this.#pools.get(name);
    if (registration === undefined) {
      const known = [...this.#pools.keys()].map((n) => JSON.stringify(n)).join(', ') || 'none';
      throw new InvalidOptionError(
        'pool',
        name,
        `the name of a pool registered with ConnectionPoolModule.forRoot({ name }) (registered: ${known})`,
      );
    }
    return registration;
  }

  /** The registration named `name`, or undefined. */
  find(name: string = DEFAULT_POOL_NAME): RegisteredConnectionPool | undefined {
    return this.#pools.get(name);
  }

  /** Every registration, in the order the pools were made. */
  list(): RegisteredConnectionPool[] {
    return [...this.#pools.values()];
  }

  /**
   * Calls `listener` with every registration, now for those already there and later for
   * new ones. Returns a function that stops the calls.
   */
  subscribe(listener: ConnectionPoolRegistryListener): () => void {
    this.#listeners.add(listener);
    for (const registration of this.list()) listener(registration);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
