import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { CloseReason, PoolEvent } from '../../src/pool/index.js';
import { NetConnector } from '../../src/transport/index.js';
import { BackendFleet } from './support/backends.js';
import { getVia, getWithAgent } from './support/clients.js';
import { Load } from './support/load.js';
import { BACKEND_ADDRESSES, ServiceName } from './support/service-name.js';

const NAME = 'catalog.cluster.test';
const CONCURRENCY = 16;
/**
 * Short, so that the test takes a few lifetimes of real time; nothing is asserted about time:
 * the test waits for the connections of before the scale-out to be gone (events), then counts.
 */
const LIFETIME_MS = 400;
/** Requests counted after the scale-out's first lifetime: enough for 25% ± 10% to mean something. */
const MEASURED = 1_200;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves once every connection in `ids` has left the pool, with why each left. */
function whenGone(pool: ConnectionPool, ids: ReadonlySet<string>): Promise<Map<string, CloseReason | 'connect-failed'>> {
  const why = new Map<string, CloseReason | 'connect-failed'>();
  return new Promise((resolve) => {
    const subscription = pool.events$.subscribe((event: PoolEvent) => {
      if (event.type !== 'connection-closed' && event.type !== 'connect-failed') return;
      if (!ids.has(event.connectionId)) return;
      why.set(event.connectionId, event.type === 'connect-failed' ? 'connect-failed' : event.reason);
      if (why.size === ids.size) {
        subscription.unsubscribe();
        resolve(why);
      }
    });
  });
}

function shares(counts: ReadonlyMap<string, number>): Record<string, number> {
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  return Object.fromEntries([...counts].map(([backend, count]) => [backend, count / total]));
}

describe('a scale-out behind a name, with maxLifetime and least-connections balancing', () => {
  for (const client of ['PooledAgent', 'dispatcher'] as const) {
    it(`through the ${client}: within one lifetime every backend gets 25% ± 10% of the requests, and none fails`, async () => {
      const fleet = await BackendFleet.start(BACKEND_ADDRESSES);
      cleanups.push(() => fleet.close());
      const service = new ServiceName(BACKEND_ADDRESSES.slice(0, 2));
      const pool = new ConnectionPool({
        connector: new NetConnector({ lookup: service.lookup, balance: 'least-connections' }),
        maxLifetime: LIFETIME_MS,
        maxIdleConnections: 64,
      });
      cleanups.push(() => pool.close({ timeout: '5s' }));
      const url = `http://${NAME}:${fleet.port}/`;
      const load = new Load(CONCURRENCY, client === 'dispatcher' ? getVia(pool.dispatcher(), url) : getWithAgent(pool.httpAgent(), url)).start();
      cleanups.push(() => load.stop());

      await load.whenCompleted(300);
      expect([...load.servedBy.keys()].sort()).toEqual(BACKEND_ADDRESSES.slice(0, 2));

      // Two more pods: the name answers four addresses from now on.
      service.set(BACKEND_ADDRESSES);
      const before = new Set(pool.connections().map((connection) => connection.id));
      expect(before.size).toBeGreaterThanOrEqual(CONCURRENCY / 2);
      // Within one lifetime every connection made before has been retired, none cut...
      const reasons = await whenGone(pool, before);
      expect(new Set(reasons.values())).toEqual(new Set(['max-lifetime']));
      // ...and their successors, and every request after, spread over the four.
      const since = load.mark();
      await load.whenCompleted(MEASURED);
      const spread = shares(since());
      expect(Object.keys(spread).sort()).toEqual([...BACKEND_ADDRESSES]);
      for (const [backend, share] of Object.entries(spread)) {
        expect(share, `${backend}'s share of ${MEASURED} requests: ${JSON.stringify(spread)}`).toBeGreaterThanOrEqual(0.15);
        expect(share, `${backend}'s share of ${MEASURED} requests: ${JSON.stringify(spread)}`).toBeLessThanOrEqual(0.35);
      }
      await load.stop();
      expect(load.failures).toEqual([]);
    });
  }

  it("without them (balance 'first', no lifetime), every request stays on the first backend: the pinning this settles", async () => {
    const fleet = await BackendFleet.start(BACKEND_ADDRESSES);
    cleanups.push(() => fleet.close());
    const service = new ServiceName(BACKEND_ADDRESSES.slice(0, 2));
    const pool = new ConnectionPool({ connector: new NetConnector({ lookup: service.lookup }), maxIdleConnections: 64 });
    cleanups.push(() => pool.close({ timeout: '5s' }));
    const load = new Load(CONCURRENCY, getWithAgent(pool.httpAgent(), `http://${NAME}:${fleet.port}/`)).start();
    cleanups.push(() => load.stop());
    await load.whenCompleted(300);
    service.set(BACKEND_ADDRESSES);
    const since = load.mark();
    await load.whenCompleted(MEASURED);
    const counted = since();
    expect([...counted.keys()]).toEqual([BACKEND_ADDRESSES[0]]);
    expect(counted.get(BACKEND_ADDRESSES[0])).toBeGreaterThanOrEqual(MEASURED);
    await load.stop();
    expect(load.failures).toEqual([]);
  });
});
