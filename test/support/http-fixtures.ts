import type * as http from 'node:http';
import { afterEach } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { ConnectionPoolOptions, PoolEvent } from '../../src/pool/index.js';
import { startHttpServer, type HttpTestServer } from './http-servers.js';

/**
 * Pools and loopback servers for a test file, each closed after every test (last made,
 * first closed). Call once at the top of the file.
 */
export function useHttpFixtures(): {
  poolFor(options?: ConnectionPoolOptions): { pool: ConnectionPool; events: PoolEvent[] };
  server(handler: http.RequestListener, options?: { keepAliveTimeout?: number }): Promise<HttpTestServer>;
  cleanups: Array<() => Promise<void>>;
} {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()?.();
  });
  return {
    cleanups,
    poolFor(options = {}) {
      const pool = new ConnectionPool({ drainTimeout: '1s', ...options });
      const events: PoolEvent[] = [];
      pool.events$.subscribe((event) => events.push(event));
      cleanups.push(() => pool.close());
      return { pool, events };
    },
    async server(handler, options) {
      const started = await startHttpServer(handler, options);
      cleanups.push(() => started.close());
      return started;
    },
  };
}
