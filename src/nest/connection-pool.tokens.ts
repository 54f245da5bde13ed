import { ConnectionPool } from '../http/index.js';
import { InvalidOptionError } from '../pool/index.js';

/** The name of the pool registered without a `name`. */
export const DEFAULT_POOL_NAME = 'default';

/**
 * The injection token of a pool registered with `ConnectionPoolModule.forRoot({ name })`.
 *
 * The default pool's token is the {@link ConnectionPool} class itself, so that it can be
 * injected by type (`constructor(private readonly pool: ConnectionPool)`); a named pool's
 * token is the string `` `${name}ConnectionPool` `` (as `@nestjs/typeorm` names its data
 * sources), which is what Nest's own "can't resolve" errors then show.
 *
 * @example
 * ```ts
 * const pool = app.get<ConnectionPool>(getConnectionPoolToken('payments'));
 * ```
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) when `name` is not a non-empty string.
 */
export function getConnectionPoolToken(name: string = DEFAULT_POOL_NAME): string | typeof ConnectionPool {
  assertPoolName(name);
  return name === DEFAULT_POOL_NAME ? ConnectionPool : `${name}ConnectionPool`;
}

/**
 * Checks a pool name given to the module, a token helper, a health check or a query.
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`, option `name`).
 */
export function assertPoolName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidOptionError('name', name, 'a non-empty string naming the pool (or nothing, for the default pool)');
  }
}

/**
 * The module-local token of one registration (its pool and what watches it). Not exported
 * from the module, so that each `forRoot()` resolves its own, even when several are global.
 *
 * @internal
 */
export const CONNECTION_POOL_REGISTRATION = Symbol('ConnectionPoolRegistration');

/** The token of the name of one `ConnectionPoolModule` registration's pool (module-local). */
export const CONNECTION_POOL_NAME = 'CONNECTION_POOL_NAME';

/** The token of the options of one `ConnectionPoolModule` registration (module-local). */
export const CONNECTION_POOL_MODULE_OPTIONS = 'CONNECTION_POOL_MODULE_OPTIONS';

/** The token of the options of one `ConnectionPoolMetricsModule` registration (module-local). */
export const CONNECTION_POOL_METRICS_OPTIONS = 'CONNECTION_POOL_METRICS_OPTIONS';

/** The token of the resolved options of `ConnectionPoolEventsModule`. */
export const CONNECTION_POOL_EVENTS_OPTIONS = 'CONNECTION_POOL_EVENTS_OPTIONS';
