import { describe, expect, it } from 'vitest';
import type { ActorRefLike, InspectionEvent } from 'xstate';
import { ConnectionPool, type CleanupTick } from '../../src/pool/index.js';
import { FakeConnector } from './support/fake-connector.js';
import { poolUnderTest } from './support/pool-under-test.js';
import { VirtualClock } from './support/virtual-time.js';

/** A `random` that returns the given values in turn (then the last one again). */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

describe('maxLifetime', () => {
  it('closes an idle connection at its lifetime end (reason max-lifetime), through the cleanup loop', async () => {
    const { pool, clock, events } = poolUnderTest({ keepAlive: '1h', maxLifetime: 10_000, random: draws(0) });
    const ticks: CleanupTick[] = [];
    pool.cleanupTicks$.subscribe((tick) => ticks.push(tick));
    const lease = await pool.acquire('http://a.test');
    clock.advanceTo(4_000);
    lease.release();
    // The loop sleeps until the lifetime end (10 s after the connect), not until keepAlive.
    expect(ticks.at(-1)).toEqual({ at: 0, delay: 10_000, evicted: 0 });
    expect(pool.stats().cleanup.nextTickAt).toBe(10_000);
    clock.advanceTo(9_999);
    expect(pool.connectionCount()).toBe(1);
    clock.advanceTo(10_000);
    expect(pool.connectionCount()).toBe(0);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ connectionId: 'c1', reason: 'max-lifetime', at: 10_000 }]);
    expect(events.some((e) => e.type === 'no-new-exchanges')).toBe(false);
    expect(ticks.at(-1)).toEqual({ at: 10_000, delay: -1, evicted: 1 });
  });

  it('cleanup(now) returns the time to the next lifetime end when that comes first, idle or in use', async () => {
    const { pool, clock } = poolUnderTest({ keepAlive: 60_000, maxLifetime: 30_000, random: draws(0) });
    const inUse = await pool.acquire('http://a.test');
    // Only a connection in use: OkHttp's answer would be keepAlive (60 s).
    expect(pool.cleanup(1_000)).toBe(29_000);
    clock.advanceTo(5_000);
    const idle = await pool.acquire('http://a.test'); // c2, connected at 5 s: ends at 35 s
    idle.release();
    expect(pool.cleanup(5_000)).toBe(25_000); // c1 ends at 30 s, before c2's keepAlive (65 s)
    inUse.release();
    expect(pool.cleanup(20_000)).toBe(10_000);
    expect(pool.connectionCount()).toBe(2);
  });

  it('without maxLifetime, cleanup returns what OkHttp returns', async () => {
    const { pool } = poolUnderTest({ keepAlive: 60_000 });
    const lease = await pool.acquire('http://a.test');
    expect(pool.cleanup(1_000)).toBe(60_000);
    lease.release();
    expect(pool.cleanup(1_000)).toBe(59_000);
  });

  it('takes up to 2.5 % off each lifetime at random, never more, never adds to it', async () => {
    const clock = new VirtualClock();
    const connector = new FakeConnector();
    const pool = new ConnectionPool({
      connector,
      scheduler: clock.scheduler,
      keepAlive: '1h',
      maxIdleConnections: 10,
      maxLifetime: 100_000,
      random: draws(0, 0.5, 0.999_999, 0.25),
    });
    const leases = await Promise.all([0, 1, 2, 3].map(() => pool.acquire('http://a.test')));
    for (const lease of leases) lease.release();
    const closedAt = new Map<string, number>();
    pool.events$.subscribe((e) => {
      if (e.type === 'connection-closed' && e.reason === 'max-lifetime') closedAt.set(e.connectionId, e.at);
    });
    clock.advanceTo(200_000);
    // 2.5 % of 100 s is 2.5 s; times are whole ms, rounded up.
    expect(Object.fromEntries(closedAt)).toEqual({ c1: 100_000, c2: 98_750, c3: 97_501, c4: 99_375 });
  });

  it('with the default randomness, spreads lifetime ends within [97.5 %, 100 %] of maxLifetime', async () => {
    const clock = new VirtualClock();
    const pool = new ConnectionPool({ connector: new FakeConnector(), scheduler: clock.scheduler, keepAlive: '1h', maxIdleConnections: 200, maxLifetime: 1_000_000 });
    const closedAt: number[] = [];
    pool.events$.subscribe((e) => {
      if (e.type === 'connection-closed') closedAt.push(e.at);
    });
    const leases = await Promise.all(Array.from({ length: 200 }, () => pool.acquire('http://a.test')));
    for (const lease of leases) lease.release();
    clock.advanceTo(2_000_000);
    expect(closedAt).toHaveLength(200);
    expect(Math.min(...closedAt)).toBeGreaterThanOrEqual(975_000);
    expect(Math.max(...closedAt)).toBeLessThanOrEqual(1_000_000);
    expect(new Set(closedAt).size).toBeGreaterThan(100); // spread, not all at once
  });

  it('lets an exchange in flight finish: the connection takes no new one and closes when released', async () => {
    const { pool, clock, connector, events, types } = poolUnderTest({ keepAlive: '1h', maxLifetime: 10_000, random: draws(0) });
    const lease = await pool.acquire('http://a.test');
    const view = lease.connection;
    clock.advanceTo(10_000);
    // At its lifetime end it is still carrying the exchange: not cut, only marked.
    expect(connector.transports[0]?.closeCalls).toBe(0);
    expect(lease.transport).toBe(connector.transports[0]);
    expect(view.state).toBe('inUse');
    expect(types().at(-1)).toBe('no-new-exchanges');
    expect(pool.connections()).toMatchObject([{ id: 'c1', noNewExchanges: true, allocations: 1 }]);
    // A new acquire gets a new connection.
    const other = await pool.acquire('http://a.test');
    expect(other.connection.id).toBe('c2');
    clock.advanceTo(15_000);
    lease.release();
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ connectionId: 'c1', reason: 'max-lifetime', at: 15_000 }]);
    expect(view.state).toBe('evicted');
    other.release();
  });

  it('ends the connection actor in evicted with max-lifetime as its output', async () => {
    const actors: ActorRefLike[] = [];
    const inspect = (event: InspectionEvent): void => {
      if (event.type === '@xstate.actor' && event.actorRef.sessionId !== event.rootId) actors.push(event.actorRef);
    };
    const { pool, clock } = poolUnderTest({ keepAlive: '1h', maxLifetime: 1_000, random: draws(0), inspect });
    const held = await pool.acquire('http://a.test');
    (await pool.acquire('http://a.test')).release();
    clock.advanceTo(1_000);
    held.release();
    expect(actors).toHaveLength(2);
    for (const [index, actor] of actors.entries()) {
      const snapshot = actor.getSnapshot() as { context: { id: string }; value: unknown; status: string; output: unknown };
      expect(snapshot).toMatchObject({ context: { id: `c${index + 1}` }, value: 'evicted', status: 'done', output: { reason: 'max-lifetime', error: null } });
    }
  });

  it('does not hand out a multiplexed connection past its lifetime, even before the loop has run', async () => {
    const { pool, clock, connector } = poolUnderTest({ keepAlive: '1h', maxLifetime: 1_000, random: draws(0) });
    connector.manual = true;
    const first = pool.acquire('http://a.test');
    await Promise.resolve();
    const transport = connector.pending[0]?.succeed();
    if (transport) transport.allocationLimit = 10;
    const lease = await first;
    clock.jumpBy(1_000); // the loop's timer has not fired (a blocked event loop)
    connector.manual = false;
    const next = await pool.acquire('http://a.test');
    expect(next.connection.id).toBe('c2');
    expect(pool.connections()).toMatchObject([
      { id: 'c1', noNewExchanges: true, allocations: 1 },
      { id: 'c2', noNewExchanges: false },
    ]);
    lease.release();
    expect(transport?.closeCalls).toBe(1);
    next.release();
  });

  it('does not reuse an idle connection past its lifetime when its timer is late: it is closed and a new one made', async () => {
    const { pool, clock, events } = poolUnderTest({ keepAlive: '1h', maxLifetime: 1_000, random: draws(0) });
    (await pool.acquire('http://a.test')).release();
    clock.jumpBy(1_500);
    const lease = await pool.acquire('http://a.test');
    expect(lease.connection.id).toBe('c2');
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ connectionId: 'c1', reason: 'max-lifetime' }]);
    lease.release();
  });

  it('closes a connection released after its lifetime end, even if the loop has not run yet', async () => {
    const { pool, clock, connector, events } = poolUnderTest({ keepAlive: '1h', maxLifetime: 1_000, random: draws(0) });
    const lease = await pool.acquire('http://a.test');
    clock.jumpBy(2_000);
    lease.release();
    expect(connector.transports[0]?.closeCalls).toBe(1);
    expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ connectionId: 'c1', reason: 'max-lifetime' }]);
  });

  it('a random that throws or returns nonsense means no jitter, never an error; a throw is reported as a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const throwing = (): number => {
        throw new Error('no entropy');
      };
      for (const random of [throwing, () => Number.NaN, () => 7, () => -1]) {
        const { pool, clock, events } = poolUnderTest({ keepAlive: '1h', maxLifetime: 1_000, random });
        (await pool.acquire('http://a.test')).release();
        clock.advanceTo(999);
        expect(pool.connectionCount()).toBe(1);
        clock.advanceTo(1_000);
        expect(events.filter((e) => e.type === 'connection-closed')).toMatchObject([{ reason: 'max-lifetime', at: 1_000 }]);
      }
      // Node emits a warning on a later tick: wait for the event itself.
      await new Promise<void>((resolve) => {
        const check = (): void => (warnings.length > 0 ? resolve() : void setImmediate(check));
        check();
      });
      expect(warnings).toEqual([
        expect.objectContaining({ name: 'ConnectionPoolWarning', code: 'ERR_POOL_CALLBACK_THREW', message: expect.stringContaining('no entropy') }),
      ]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
