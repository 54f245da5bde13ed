import { Inject } from '@nestjs/common';
import { DEFAULT_POOL_NAME, getConnectionPoolToken } from './connection-pool.tokens.js';
import { recordPoolRequest } from './unregistered-pool.fallbacks.js';

/**
 * Injects the pool registered under `name` (the default pool if none). A name that no
 * `ConnectionPoolModule.forRoot()` registers stops the application at bootstrap with
 * `ERR_INVALID_OPTION`, listing the pools it has.
 *
 * @example
 * ```ts
 * constructor(@InjectConnectionPool('payments') private readonly pool: ConnectionPool) {}
 * ```
 */
export function InjectConnectionPool(name: string = DEFAULT_POOL_NAME): PropertyDecorator & ParameterDecorator {
  const inject = Inject(getConnectionPoolToken(name));
  return (target: object, key: string | symbol | undefined, index?: number) => {
    // A constructor parameter's target is the class; a property's, its prototype.
    const consumer = typeof target === 'function' ? target.name : (target.constructor as { name?: string } | undefined)?.name;
    recordPoolRequest(name, consumer || 'a class');
    (inject as (target: object, key: string | symbol | undefined, index?: number) => void)(target, key, index);
  };
}
