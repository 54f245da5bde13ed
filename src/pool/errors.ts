/**
 * Every error the pool raises is a {@link ConnectionPoolError} with a stable `code`,
 * so callers can branch on `err.code` instead of parsing messages.
 */
export type ConnectionPoolErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_ADDRESS'
  | 'ERR_ACQUIRE_TIMEOUT'
  | 'ERR_ACQUIRE_ABORTED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_CONNECTOR_RESULT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_LEASE_RELEASED';

/** Base class of the pool's errors. */
export class ConnectionPoolError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ConnectionPoolErrorCode;

  constructor(code: ConnectionPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option given to the pool (or one of its adapters) is of the wrong type or out of range. */
export class InvalidOptionError extends ConnectionPoolError {
  /** The name of the offending option. */
  readonly option: string;

  constructor(option: string, value: unknown, expected: string) {
    super('ERR_INVALID_OPTION', `Invalid option "${option}": ${describeValue(value)}. Expected ${expected}.`);
    this.option = option;
  }
}

/** The address given to `acquire()` cannot be parsed or uses an unsupported scheme. */
export class InvalidAddressError extends ConnectionPoolError {
  constructor(detail: string) {
    super(
      'ERR_INVALID_ADDRESS',
      `Invalid address: ${detail}. Pass a URL ("http:", "https:", "tcp:" or "tls:" with a host and, for tcp/tls, a port) or an object { host, port, tls? }.`,
    );
  }
}

/** A waiter for a connection slot waited longer than `acquireTimeout`. */
export class AcquireTimeoutError extends ConnectionPoolError {
  constructor(address: string, timeoutMs: number, detail: string) {
    super(
      'ERR_ACQUIRE_TIMEOUT',
      `Timed out after ${timeoutMs} ms waiting for a connection to ${address} (${detail}). ` +
        'Release leases sooner, raise maxConnections / maxConnectionsPerAddress, or raise acquireTimeout.',
    );
  }
}

/** The acquirer's AbortSignal fired before a connection was handed over. */
export class AcquireAbortedError extends ConnectionPoolError {
  constructor(address: string, reason: unknown) {
    super('ERR_ACQUIRE_ABORTED', `Acquiring a connection to ${address} was aborted by the caller's signal.`, {
      cause: reason,
    });
    this.name = 'AbortError';
  }
}

/** The connector did not produce a connection within `connectTimeout`. */
export class ConnectTimeoutError extends ConnectionPoolError {
  constructor(address: string, timeoutMs: number) {
    super(
      'ERR_CONNECT_TIMEOUT',
      `Connecting to ${address} did not complete within ${timeoutMs} ms (connectTimeout). ` +
        'Check that the host is reachable, or raise connectTimeout.',
    );
  }
}

/** The connector resolved with something that is not a transport. */
export class ConnectorResultError extends ConnectionPoolError {
  /** @param problem - what is wrong with the transport it returned, when it is one. */
  constructor(address: string, value: unknown, problem?: string) {
    super(
      'ERR_CONNECTOR_RESULT',
      problem === undefined
        ? `The connector returned ${describeValue(value)} for ${address}; it must resolve to a Transport with a close() method.`
        : `The connector's transport for ${address} cannot be used: ${problem}. A Transport's on('close', listener) must not throw; the transport was closed.`,
    );
  }
}

/** The pool is closing or closed and takes no new acquires. */
export class PoolClosedError extends ConnectionPoolError {
  constructor(detail = 'it takes no new acquires') {
    super('ERR_POOL_CLOSED', `The connection pool is closed: ${detail}. Create a new pool, or acquire before close().`);
  }
}

/** A lease was used after it had been released. */
export class LeaseReleasedError extends ConnectionPoolError {
  constructor(connectionId: string) {
    super(
      'ERR_LEASE_RELEASED',
      `This lease of connection ${connectionId} was already released; its transport may now serve someone else. Acquire a new lease.`,
    );
  }
}

/** A short, safe description of a value for error messages (never dumps objects). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
