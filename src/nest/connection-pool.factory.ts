import { ConnectionPool } from '../http/index.js';
import { ConnectionPoolError, type ConnectionPoolOptions } from '../pool/index.js';

/**
 * Makes the pool of a module registration. The pool validates its own options; an invalid
 * one stops the application from starting, with the pool's `ERR_INVALID_OPTION` (naming the
 * option and the value) and, since an application may have several pools, the pool's name.
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) or another {@link ConnectionPoolError}.
 */
export function createConnectionPool(name: string, options: ConnectionPoolOptions | undefined): ConnectionPool {
  try {
    return new ConnectionPool(options);
  } catch (error) {
    if (error instanceof ConnectionPoolError) {
      const original = error.message;
      error.message = `ConnectionPoolModule, pool "${name}": ${original}`;
      if (error.stack !== undefined) error.stack = error.stack.replace(original, error.message);
    }
    throw error;
  }
}
