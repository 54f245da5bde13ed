import { ConnectionPool } from '../http/index.js';
import { ConnectionPoolError } from '../pool/index.js';
import { poolOptionsFromConfig, type ConnectionPoolModulePoolOptions } from './config-string-options.js';

/**
 * Makes the pool of a module registration, from options that may come from configuration
 * (strings, see {@link poolOptionsFromConfig}). The pool validates its own options; an
 * invalid one stops the application from starting, with the pool's `ERR_INVALID_OPTION`
 * (naming the option and the value) and, since an application may have several pools, the
 * pool's name.
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) or another {@link ConnectionPoolError}.
 */
export function createConnectionPool(name: string, options: ConnectionPoolModulePoolOptions | undefined): ConnectionPool {
  try {
    return new ConnectionPool(poolOptionsFromConfig(options));
  } catch (error) {
    if (error instanceof ConnectionPoolError) prefixMessage(error, `ConnectionPoolModule, pool "${name}": `);
    throw error;
  }
}

/** Puts `prefix` before the error's message, in its stack too, once. */
function prefixMessage(error: Error, prefix: string): void {
  // V8 writes the stack's first line from the message when the stack is first read: read it
  // before the message changes, or that line would get the prefix twice.
  const stack = error.stack;
  const original = error.message;
  error.message = prefix + original;
  if (stack !== undefined) error.stack = stack.replace(original, error.message);
}
