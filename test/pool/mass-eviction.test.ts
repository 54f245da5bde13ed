import type { ActorRefLike, InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { Lease, PoolEvent } from '../../src/pool/index.js';
import { poolUnderTest } from './support/pool-under-test.js';

// A mass eviction, as bench/engine-evict-cold.js times it (there with 10k of 100k): connections
// idle since two different times, one `while (pool.cleanup(now) === 0)` pass when only the
// older group has expired. Whatever the pool does to make that fast, each evicted
// connection's actor must have gone through its final transition, with the reason as output.

const TOTAL = 3_000;
const EXPIRED = 1_000;
const KEEP_ALIVE = 60_000;

async function fill(pool: ReturnType<typeof poolUnderTest>['pool'], clock: ReturnType<typeof poolUnderTest>['clock']): Promise<Lease[]> {
  const leases = await Promise.all(Array.from({ length: TOTAL }, () => pool.acquire('http://a.test')));
  for (const lease of leases.slice(0, EXPIRED)) lease.release(); // idle since 0
  clock.jumpBy(1_000);
  for (const lease of leases.slice(EXPIRED)) lease.release(); // idle since 1 s
  clock.jumpBy(KEEP_ALIVE - 500); // now = 60.5 s: only the first group is due
  return leases;
}

describe('a mass eviction in one cleanup pass', () => {
  it('leaves every evicted connection actor in its final state with the reason as output (actors read through an inspector)', async () => {
    const actors: ActorRefLike[] = [];
    const inspect = (event: InspectionEvent): void => {
      if (event.type === '@xstate.actor' && event.actorRef.sessionId !== event.rootId) actors.push(event.actorRef);
    };
    const { pool, clock, connector } = poolUnderTest({ keepAlive: KEEP_ALIVE, maxIdleConnections: TOTAL, inspect });
    await fill(pool, clock);
    let evicted = 0;
    while (pool.cleanup(clock.now) === 0) evicted++;

    expect(evicted).toBe(EXPIRED);
    expect(pool.connectionCount()).toBe(TOTAL - EXPIRED);
    expect(actors).toHaveLength(TOTAL);
    for (const [index, actor] of actors.entries()) {
      const snapshot = actor.getSnapshot() as { context: { id: string }; value: string; status: string; output?: unknown };
      expect(snapshot.context.id).toBe(`c${index + 1}`);
      if (index < EXPIRED) {
        expect(snapshot).toMatchObject({ value: 'evicted', status: 'done', output: { reason: 'keep-alive-expired', error: null } });
        expect(connector.transports[index]?.closeCalls).toBe(1);
      } else {
        expect(snapshot).toMatchObject({ value: 'idle', status: 'active' });
        expect(connector.transports[index]?.closeCalls).toBe(0);
      }
    }
  });

  it('does the same with nobody watching (actors brought up to date lazily): each view reads evicted, each close is reported', async () => {
    const { pool, clock, connector, events } = poolUnderTest({ keepAlive: KEEP_ALIVE, maxIdleConnections: TOTAL });
    const leases = await fill(pool, clock);
    const closedBefore = events.length;
    while (pool.cleanup(clock.now) === 0);

    const closed = events.slice(closedBefore).filter((e): e is Extract<PoolEvent, { type: 'connection-closed' }> => e.type === 'connection-closed');
    expect(closed.map((e) => e.connectionId)).toEqual(Array.from({ length: EXPIRED }, (_, i) => `c${i + 1}`));
    expect(new Set(closed.map((e) => e.reason))).toEqual(new Set(['keep-alive-expired']));
    for (const [index, lease] of leases.entries()) {
      expect(lease.connection.state).toBe(index < EXPIRED ? 'evicted' : 'idle');
      expect(connector.transports[index]?.closeCalls).toBe(index < EXPIRED ? 1 : 0);
    }
    expect(pool.stats()).toMatchObject({ connections: TOTAL - EXPIRED, idle: TOTAL - EXPIRED, inUse: 0, leases: 0 });
    expect(pool.cleanup(clock.now)).toBe(500);
  });
});
