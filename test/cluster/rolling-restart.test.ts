import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { NetConnector } from '../../src/transport/index.js';
import { BackendFleet } from './support/backends.js';
import { getVia, getWithAgent } from './support/clients.js';
import { Load } from './support/load.js';
import { closeOf, sortLosses, type SortedLosses } from './support/lost-requests.js';
import { RequestTracer } from './support/request-tracer.js';
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

/** A client's losses, for a failure message. */
function describeLosses(agent: string, losses: SortedLosses, closedUnderIt: number): string {
  const lost = losses.avoidable.length + losses.unavoidable.length + losses.unexplained.length;
  return `${agent}: ${lost} lost on the ${closedUnderIt} of its connections the backends closed, ${losses.avoidable.length} avoidable, ${losses.unexplained.length} unexplained`;
}

/** Resolves once every load has completed `count` more requests. */
function allComplete(loads: readonly Load[], count: number): Promise<void> {
  return Promise.all(loads.map((load) => load.whenCompleted(count))).then(() => undefined);
}

describe('a rolling restart of the backends behind a name', () => {
  it('loses no idempotent request through the dispatcher, and none through the PooledAgent that its agent could have kept off a closed connection', async () => {
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
    // Each agent's requests are placed in the backends' order of events, to tell which were
    // made after the backend had closed their connection.
    const pooledAgentRequests = new RequestTracer(fleet.order);
    const nodeAgentRequests = new RequestTracer(fleet.order);
    const throughPooledAgent = new Load(CONCURRENCY, getWithAgent(agentPool.httpAgent(), url, undefined, pooledAgentRequests));
    const throughNodeAgent = new Load(CONCURRENCY, getWithAgent(nodeAgent, url, service.lookup, nodeAgentRequests));
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
    // The agents do not send again: a request on a connection a backend closes is lost. How
    // many is chance: whether each close comes before or after the next request on that
    // connection is a race between the backends' thread and the client's (on Node 24 either
    // agent lost 0-17 in a run, the PooledAgent more than http.Agent in about a quarter of
    // runs). What is the agent's doing is sending a request into a connection whose close it
    // could see when the request was made: the FIN in the kernel, on a Node whose sockets can
    // be asked (24: both agents ask before reusing one), or read by the event loop where they
    // cannot (20). The moment a request is made is one both agents share, and it comes before
    // either chooses a connection (http.Agent in http.get, the PooledAgent after the pool's
    // acquire): a close after it costs http.Agent the request too. So the PooledAgent must
    // have no loss of a request made after its connection's close could be seen (without its
    // pending-read check it had 7-8 a run on Node 24). On Node 20 the loop never reads a FIN
    // before the connection's next request here, so both agents lose the next request of
    // every connection closed under them (21 of 21 and 24-25 of 24-25) and this check cannot
    // fail there: test/http/pooled-agent.test.ts checks a close the loop has read.
    const closes = await fleet.closes();
    const seenIn = pooledAgentRequests.kernelCanBeAsked ? 'kernel' : 'event loop';
    const pooledAgentLosses = sortLosses(throughPooledAgent.failures, closes, seenIn);
    const nodeAgentLosses = sortLosses(throughNodeAgent.failures, closes, seenIn);
    const closedUnder = (requests: RequestTracer) => requests.connections.filter((connection) => closeOf(connection, closes) !== undefined).length;
    const report = [
      describeLosses('PooledAgent', pooledAgentLosses, closedUnder(pooledAgentRequests)),
      describeLosses('http.Agent', nodeAgentLosses, closedUnder(nodeAgentRequests)),
      `closes seen in the ${seenIn}`,
    ].join('; ');
    // The stops closed connections of both agents, so both met what is compared.
    expect(closedUnder(pooledAgentRequests), report).toBeGreaterThan(0);
    expect(closedUnder(nodeAgentRequests), report).toBeGreaterThan(0);
    for (const losses of [pooledAgentLosses, nodeAgentLosses]) {
      // Every request lost was on a connection a backend closed, and at most one per connection.
      expect(losses.unexplained, report).toEqual([]);
      const lostOn = [...losses.avoidable, ...losses.unavoidable].map((lost) => lost.connection);
      expect(new Set(lostOn).size, report).toBe(lostOn.length);
    }
    expect(pooledAgentLosses.avoidable, report).toEqual([]);
    for (const error of [...throughPooledAgent.failures, ...throughNodeAgent.failures]) {
      expect((error as { code?: string }).code, error.message).toMatch(/^(ECONNRESET|EPIPE)$/);
    }
  });
});
