import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { NetConnector } from '../../src/transport/index.js';
import { BackendFleet } from './support/backends.js';
import { getVia, getWithAgent } from './support/clients.js';
import { Load } from './support/load.js';
import { BACKEND_ADDRESSES, ServiceName } from './support/service-name.js';

const NAME = 'orders.cluster.test';
/** Requests each client completes between two steps of the restart. */
const STEP = 150;
const CONCURRENCY = 16;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function poolOver(service: ServiceName): ConnectionPool {
  const pool = new ConnectionPool({
    connector: new NetConnector({ lookup: service.lookup, balance: 'least-connections' }),
    maxIdleConnections: 64,
    drainTimeout: '5s',
  });
  cleanups.push(() => pool.close());
  return pool;
}

/** Resolves once every load has completed `count` more requests. */
function allComplete(loads: readonly Load[], count: number): Promise<void> {
  return Promise.all(loads.map((load) => load.whenCompleted(count))).then(() => undefined);
}

describe('a rolling restart of the backends behind a name', () => {
  it('loses no idempotent request through the dispatcher, and no more through the PooledAgent than through http.Agent', async () => {
    const addresses = BACKEND_ADDRESSES.slice(0, 3);
    const fleet = await BackendFleet.start(addresses);
    cleanups.push(() => fleet.close());
    const url = `http://${NAME}:${fleet.port}/`;
    // A DNS server's round-robin, so that http.Agent (which takes the first address) spreads too.
    const service = new ServiceName(addresses, { rotate: true });

    const dispatcherPool = poolOver(service);
    let retries = 0;
    dispatcherPool.events$.subscribe((event) => {
      if (event.type === 'retry') retries++;
    });
    const agentPool = poolOver(service);
    const nodeAgent = new http.Agent({ keepAlive: true });
    cleanups.push(() => nodeAgent.destroy());
    const throughDispatcher = new Load(CONCURRENCY, getVia(dispatcherPool.dispatcher(), url));
    const throughPooledAgent = new Load(CONCURRENCY, getWithAgent(agentPool.httpAgent(), url));
    const throughNodeAgent = new Load(CONCURRENCY, getWithAgent(nodeAgent, url, service.lookup));
    const loads = [throughDispatcher, throughPooledAgent, throughNodeAgent];
    for (const load of loads) load.start();
    cleanups.push(() => Promise.all(loads.map((load) => load.stop())).then(() => undefined));

    await allComplete(loads, STEP);
    let connectionsClosedByStops = 0;
    for (const address of addresses) {
      // The pod leaves the Service's endpoints: the name no longer answers it...
      service.set(addresses.filter((other) => other !== address));
      await allComplete(loads, STEP);
      // ...then it stops, closing the connections the clients still hold, with requests coming.
      connectionsClosedByStops += await fleet.stop(address);
      await allComplete(loads, STEP);
      // The new pod comes up on the same address and joins the answers again.
      await fleet.restart(address);
      service.set(addresses);
      await allComplete(loads, STEP);
    }
    await Promise.all(loads.map((load) => load.stop()));

    // The stops did close connections in use (else this proved nothing).
    expect(connectionsClosedByStops).toBeGreaterThan(0);
    for (const load of loads) expect(load.completed).toBeGreaterThanOrEqual(STEP * 10);
    // The dispatcher met the same closes (it sent those requests again), and lost nothing.
    expect(retries).toBeGreaterThan(0);
    expect(throughDispatcher.failures).toEqual([]);
    // The agents do not send again; the PooledAgent loses no more than Node's own agent.
    const [, pooledAgentLost, nodeAgentLost] = loads.map((load) => load.failures.length) as [number, number, number];
    expect(pooledAgentLost).toBeLessThanOrEqual(nodeAgentLost);
    for (const error of [...throughPooledAgent.failures, ...throughNodeAgent.failures]) {
      expect((error as { code?: string }).code, error.message).toMatch(/^(ECONNRESET|EPIPE)$/);
    }
  });
});
