import type { AgentOptions as HttpsAgentOptions } from 'node:https';
import { checkTlsOptions, InvalidOptionError, parseDuration, type ConnectionPool, type Duration, type TlsAddressOptions } from '../pool/index.js';

/**
 * Options of a {@link PooledAgent}: those of Node's `http.Agent` (checked as Node checks
 * them, with Node's error codes) and three of its own.
 */
export interface PooledAgentOptions {
  /** `'http:'` (the default) or `'https:'`: the scheme of the requests this agent serves. */
  protocol?: 'http:' | 'https:';
  /**
   * How long before the server's `Keep-Alive: timeout=N` a connection is evicted, so that
   * it is never reused just as the server drops it. A hint at or under the margin means the
   * connection is not pooled at all. Default `'1s'`.
   */
  keepAliveHintMargin?: Duration;
  /**
   * TLS options for every request of an `https:` agent (as `https.Agent`'s options):
   * `ca`, `cert`, `key`, `rejectUnauthorized`, ... A request's own options add to them.
   * They enter the pool's address key, so connections are shared only between equals.
   */
  tls?: TlsAddressOptions;
  /** As Node's: `false` sends `Connection: close` and never reuses a connection. Default true. */
  keepAlive?: boolean;
  /** As Node's (read by clients); TCP keep-alive probes are the connector's (`tcpKeepAliveInitialDelay`). */
  keepAliveMsecs?: number;
  /**
   * As Node's: at most this many connections of this agent per origin at once; more requests
   * wait in `agent.requests`. Without it, `agent.maxSockets` reads the pool's
   * `maxConnectionsPerAddress`, and requests beyond it wait in the pool's queue.
   */
  maxSockets?: number;
  /** As Node's: at most this many connections of this agent listed free per origin; more are closed. Default 256. */
  maxFreeSockets?: number;
  /** As Node's: at most this many connections of this agent at once, more wait in `agent.requests`. Without it, the pool's `maxConnections` (its queue). */
  maxTotalSockets?: number;
  /**
   * As Node's: which free connection a request reuses: `'lifo'` (the default) the one idle
   * least, `'fifo'` the one idle longest (among the pool's idle connections to its origin).
   */
  scheduling?: 'fifo' | 'lifo';
  /**
   * As Node's (ms): the socket timeout of this agent's connections, in use (the request's
   * `'timeout'` event) and idle (an idle connection that times out is closed).
   */
  timeout?: number;
}

/** The agent's options, resolved. */
export interface ResolvedAgentOptions {
  readonly protocol: 'http:' | 'https:';
  readonly marginMs: number;
  readonly tls: TlsAddressOptions | undefined;
  /** What Node's Agent constructor is given (it checks `scheduling` and `maxTotalSockets` itself). */
  readonly nodeOptions: HttpsAgentOptions;
  readonly maxSockets: number;
  readonly maxTotalSockets: number;
  /**
   * Whether the agent has limits of its own (`maxSockets`, `maxTotalSockets` given): its
   * requests beyond them wait in `agent.requests`. Without, the limits are the pool's, and
   * requests wait in the pool's queue (its acquireTimeout, its close()).
   */
  readonly ownLimits: boolean;
  readonly timeoutMs: number;
}

const OWN_OPTIONS: ReadonlySet<string> = new Set(['protocol', 'keepAliveHintMargin', 'tls']);

/**
 * Checks and resolves the options. The agent's own options (`protocol`, `tls`,
 * `keepAliveHintMargin`) are refused with `ERR_INVALID_OPTION`; Node's with Node's errors:
 * `timeout` here as Node's socket would refuse it, `scheduling` and `maxTotalSockets` by
 * Node's Agent constructor.
 */
export function resolveAgentOptions(pool: ConnectionPool, options: PooledAgentOptions): ResolvedAgentOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', options, 'an object of PooledAgent options');
  }
  const protocol = options.protocol ?? 'http:';
  if (protocol !== 'http:' && protocol !== 'https:') throw new InvalidOptionError('protocol', protocol, "'http:' or 'https:'");
  checkTlsOptions('tls', options.tls);
  if (options.tls !== undefined && protocol === 'http:') {
    throw new InvalidOptionError('tls', '[TLS options]', "no TLS options on an 'http:' agent; use protocol: 'https:'");
  }
  const marginMs = options.keepAliveHintMargin === undefined ? 1_000 : parseDuration('keepAliveHintMargin', options.keepAliveHintMargin, false);
  const timeoutMs = checkTimeout(options.timeout);
  const nodeOptions: Record<string, unknown> = { keepAlive: true, ...(options.tls as HttpsAgentOptions | undefined) };
  for (const name of Object.keys(options)) {
    if (!OWN_OPTIONS.has(name) && (options as Record<string, unknown>)[name] !== undefined) nodeOptions[name] = (options as Record<string, unknown>)[name];
  }
  // As Node reads them: 0 (or nothing) means no limit of the agent's own, which is the pool's.
  const ownMaxSockets = (options.maxSockets as number | undefined) || undefined;
  const maxSockets = ownMaxSockets ?? pool.options.maxConnectionsPerAddress;
  return {
    protocol,
    marginMs,
    tls: options.tls,
    nodeOptions: nodeOptions as HttpsAgentOptions,
    maxSockets,
    maxTotalSockets: options.maxTotalSockets ?? pool.options.maxConnections,
    ownLimits: ownMaxSockets !== undefined || options.maxTotalSockets !== undefined,
    timeoutMs,
  };
}

/** The agent's `timeout`, refused as Node's socket refuses it (`ERR_INVALID_ARG_TYPE`, `ERR_OUT_OF_RANGE`). */
function checkTimeout(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') {
    throw Object.assign(new TypeError(`The "timeout" argument must be of type number. Received ${describeForNode(value)}`), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  if (!Number.isFinite(value) || value < 0) {
    throw Object.assign(new RangeError(`The value of "timeout" is out of range. It must be a non-negative finite number. Received ${String(value)}`), {
      code: 'ERR_OUT_OF_RANGE',
    });
  }
  return value;
}

/** A value as Node's ERR_INVALID_ARG_TYPE describes what it received. */
function describeForNode(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an instance of ${name}` : 'an instance of Object';
  }
  const text = typeof value === 'string' ? `'${value.length > 25 ? `${value.slice(0, 25)}...` : value}'` : String(value);
  return `type ${typeof value} (${text})`;
}
