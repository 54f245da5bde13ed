import * as http from 'node:http';
import * as https from 'node:https';
import { Agent as UndiciAgent, type Dispatcher } from 'undici';
import { ConnectionPool } from '../../../src/http/index.js';
import type { ConnectionPoolOptions } from '../../../src/pool/index.js';
import { testCerts } from '../../support/certs.js';

/** The two sides of every drop-in test: the peer, and the pool in its place. */
export type Side = 'peer' | 'pool';
export const SIDES: readonly Side[] = ['peer', 'pool'];

/** What a dispatcher is made with, on both sides. */
export interface DispatcherSetup {
  /** Connect timeout, ms (undici's `connect.timeout`, the pool's `connectTimeout`). */
  readonly connectTimeoutMs?: number;
  /** At most this many connections per origin (undici's `connections`, the pool's `maxConnectionsPerAddress`). */
  readonly connections?: number;
  /** HTTP/2 over TLS to the test CA's servers (undici's `allowH2`, the pool's `http2: 'always'`). */
  readonly h2?: boolean;
  /** Trust the test CA (for https: origins). */
  readonly tls?: boolean;
}

/**
 * Makes the dispatcher of `side`: undici's own `Agent`, or `pool.dispatcher()` over a new
 * pool. `closeAll()` closes everything made.
 */
export function dispatcherFactory(): { make(side: Side, setup?: DispatcherSetup): Dispatcher; closeAll(): Promise<void> } {
  const closers: Array<() => Promise<unknown>> = [];
  return {
    make(side, setup = {}) {
      const ca = setup.tls || setup.h2 ? testCerts().ca.cert : undefined;
      if (side === 'peer') {
        const agent = new UndiciAgent({
          ...(setup.connections !== undefined ? { connections: setup.connections } : {}),
          ...(setup.h2 ? { allowH2: true } : {}),
          connect: { ...(setup.connectTimeoutMs !== undefined ? { timeout: setup.connectTimeoutMs } : {}), ...(ca ? { ca } : {}) },
        });
        closers.push(() => agent.destroy());
        return agent;
      }
      const options: ConnectionPoolOptions = { drainTimeout: '1s' };
      if (setup.connectTimeoutMs !== undefined) options.connectTimeout = setup.connectTimeoutMs;
      if (setup.connections !== undefined) options.maxConnectionsPerAddress = setup.connections;
      const pool = new ConnectionPool(options);
      closers.push(() => pool.close());
      return pool.dispatcher({ ...(ca ? { tls: { ca } } : {}), ...(setup.h2 ? { http2: 'always' as const } : {}) });
    },
    async closeAll() {
      while (closers.length > 0) await closers.pop()?.().catch(() => undefined);
    },
  };
}

/** What an outcome looks like when compared: an error by its class, code and message. */
export function describeError(error: unknown): { name: string; code: unknown; message: string } {
  const e = error as { constructor?: { name?: string }; code?: unknown; message?: unknown };
  return { name: e?.constructor?.name ?? typeof error, code: e?.code, message: String(e?.message) };
}

/** Runs `scenario` for the peer, then for the pool, and returns both outcomes. */
export async function onBothSides<T>(scenario: (side: Side) => Promise<T>): Promise<Record<Side, T>> {
  const peer = await scenario('peer');
  const pool = await scenario('pool');
  return { peer, pool };
}

/** What an agent is made with, on both sides: Node's http.Agent options. */
export type AgentSetup = http.AgentOptions & { readonly https?: boolean };

/**
 * Makes the agent of `side`: Node's own `http.Agent` (`https.Agent` for `https: true`,
 * trusting the test CA), keep-alive as `http.globalAgent` is, or the PooledAgent of a new
 * pool with the same options. `closeAll()` destroys and closes everything made.
 */
export function agentFactory(): {
  make(side: Side, setup?: AgentSetup, poolOptions?: ConnectionPoolOptions): http.Agent;
  pools: ConnectionPool[];
  closeAll(): Promise<void>;
} {
  const closers: Array<() => Promise<unknown>> = [];
  const pools: ConnectionPool[] = [];
  return {
    pools,
    make(side, setup = {}, poolOptions = {}) {
      const { https: secure, ...options } = setup;
      const ca = secure ? testCerts().ca.cert : undefined;
      if (side === 'peer') {
        const agent = secure ? new https.Agent({ keepAlive: true, ca, ...options }) : new http.Agent({ keepAlive: true, ...options });
        closers.push(async () => agent.destroy());
        return agent;
      }
      const pool = new ConnectionPool({ drainTimeout: '1s', ...poolOptions });
      pools.push(pool);
      closers.push(() => pool.close());
      return secure ? pool.httpsAgent({ ...options, tls: { ca } } as never) : pool.httpAgent(options as never);
    },
    async closeAll() {
      while (closers.length > 0) await closers.pop()?.().catch(() => undefined);
      pools.length = 0;
    },
  };
}
