import { ConnectionPool as EngineConnectionPool, type ConnectionPoolOptions, type Connector } from '../pool/index.js';
import { NetConnector } from '../transport/index.js';
import { AgentConnector, registerAgentConnector } from './agent-connector.js';
import { PooledAgent, type PooledAgentOptions } from './pooled-agent.js';
import { PoolDispatcher, type PoolDispatcherOptions } from './pool-dispatcher.js';

/**
 * The connection pool with everything plugged in: TCP, TLS and HTTP/2 connections by default
 * (`NetConnector`) and HTTP clients on top (`httpAgent()`, `httpsAgent()` for Node's http
 * clients, `dispatcher()` for undici and fetch). It is the engine's
 * {@link EngineConnectionPool} in every other respect.
 *
 * @example
 * ```ts
 * const pool = new ConnectionPool({ maxIdleConnections: 10, keepAlive: '30s' });
 * const res = await axios.get('https://api.example.com/orders', { httpsAgent: pool.httpsAgent() });
 * const orders = await fetch('https://api.example.com/orders', { dispatcher: pool.dispatcher() });
 * ```
 */
export class ConnectionPool extends EngineConnectionPool {
  #httpAgent: PooledAgent | undefined;
  #httpsAgent: PooledAgent | undefined;
  #dispatcher: PoolDispatcher | undefined;

  /** @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value. */
  constructor(options: ConnectionPoolOptions = {}) {
    // Only a plain object gets a connector; anything else goes to the engine as it is, which
    // refuses it with ERR_INVALID_OPTION naming "options". The connector given (or the
    // default NetConnector) makes the connections; the agents' AgentConnector around it adds
    // what a request or an agent may decide (a lookup, a createConnection; see AgentConnector).
    const plain = typeof options === 'object' && options !== null && !Array.isArray(options);
    const connector = plain && isConnector(options.connector ?? new NetConnector()) ? new AgentConnector(options.connector ?? new NetConnector()) : undefined;
    super(connector === undefined ? options : { ...options, connector });
    if (connector !== undefined) registerAgentConnector(this, connector);
  }

  /**
   * An `http.Agent` for `http:` requests over this pool. Without options, the same agent
   * every time.
   */
  httpAgent(options?: Omit<PooledAgentOptions, 'protocol' | 'tls'>): PooledAgent {
    if (options !== undefined) return new PooledAgent(this, { ...options, protocol: 'http:' });
    return (this.#httpAgent ??= new PooledAgent(this, { protocol: 'http:' }));
  }

  /**
   * An `https.Agent` for `https:` requests over this pool; `tls` options (ca, client
   * certificate, ...) apply to all its requests. Without options, the same agent every time.
   */
  httpsAgent(options?: Omit<PooledAgentOptions, 'protocol'>): PooledAgent {
    if (options !== undefined) return new PooledAgent(this, { ...options, protocol: 'https:' });
    return (this.#httpsAgent ??= new PooledAgent(this, { protocol: 'https:' }));
  }

  /**
   * An `undici.Dispatcher` over this pool, for `undici.request`, `fetch` and
   * `setGlobalDispatcher`: HTTP/1.1 and, for `https:` origins whose server agrees by ALPN,
   * HTTP/2. Without options, the same dispatcher every time. Its connections are kept apart
   * from the agents' (see {@link PoolDispatcher}).
   *
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option and the value.
   */
  dispatcher(options?: PoolDispatcherOptions): PoolDispatcher {
    if (options !== undefined) return new PoolDispatcher(this, options);
    return (this.#dispatcher ??= new PoolDispatcher(this));
  }
}

/** Something the engine will take as a connector (anything else it refuses, naming it). */
function isConnector(value: unknown): value is Connector {
  return typeof value === 'object' && value !== null && typeof (value as Connector).connect === 'function';
}
