import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/app/config/app-config.js';
import { startService } from '../../src/app/service.js';
import type { PoolEvent } from '../../src/pool/index.js';
import { BackendFleet } from './support/backends.js';
import { getWithAgent } from './support/clients.js';
import { Load } from './support/load.js';
import { BACKEND_ADDRESSES, ServiceName } from './support/service-name.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the gateway in front of a Service that scales out', () => {
  it('with its defaults (UPSTREAM_BALANCE least-connections) and a POOL_MAX_LIFETIME, spreads its upstream requests over the new pods', async () => {
    const fleet = await BackendFleet.start(BACKEND_ADDRESSES);
    cleanups.push(() => fleet.close());
    const service = new ServiceName(BACKEND_ADDRESSES.slice(0, 2));
    const config = loadAppConfig({
      PORT: '0',
      LOG_LEVEL: 'error',
      UPSTREAM_URL: `http://catalog.cluster.test:${fleet.port}`,
      // Short, so that the test takes a few lifetimes of real time; it counts, it does not time.
      POOL_MAX_LIFETIME: '400ms',
      POOL_MAX_IDLE: '64',
    });
    expect(config.upstreamBalance).toBe('least-connections');
    const gateway = await startService(config, { logger: false, lookup: service.lookup });
    cleanups.push(() => gateway.close());
    expect(gateway.pool.options.maxLifetimeMs).toBe(400);
    const clientAgent = new http.Agent({ keepAlive: true });
    cleanups.push(() => clientAgent.destroy());
    const load = new Load(16, getWithAgent(clientAgent, `${gateway.url}/proxy/`)).start();
    cleanups.push(() => load.stop());

    await load.whenCompleted(200);
    expect([...load.servedBy.keys()].sort()).toEqual(BACKEND_ADDRESSES.slice(0, 2));
    service.set(BACKEND_ADDRESSES);
    const before = new Set(gateway.pool.connections().map((connection) => connection.id));
    await new Promise<void>((resolve) => {
      const subscription = gateway.pool.events$.subscribe((event: PoolEvent) => {
        if ((event.type === 'connection-closed' || event.type === 'connect-failed') && before.delete(event.connectionId) && before.size === 0) {
          subscription.unsubscribe();
          resolve();
        }
      });
    });
    const since = load.mark();
    await load.whenCompleted(800);
    const counted = since();
    const total = [...counted.values()].reduce((sum, count) => sum + count, 0);
    expect([...counted.keys()].sort()).toEqual([...BACKEND_ADDRESSES]);
    for (const [backend, count] of counted) {
      expect(count / total, `${backend}: ${JSON.stringify(Object.fromEntries(counted))}`).toBeGreaterThanOrEqual(0.15);
      expect(count / total, `${backend}: ${JSON.stringify(Object.fromEntries(counted))}`).toBeLessThanOrEqual(0.35);
    }
    await load.stop();
    expect(load.failures).toEqual([]);
  });
});
