import { Inject } from '@nestjs/common';
import { getConnectionPoolToken } from './connection-pool.tokens.js';

/**
 * Injects the pool registered under `name` (the default pool if none).
 *
 * @example
 * ```ts
 * constructor(@InjectConnectionPool('payments') private readonly pool: ConnectionPool) {}
 * ```
 */
export function InjectConnectionPool(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getConnectionPoolToken(name));
}
