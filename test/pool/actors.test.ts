import type { InspectionEvent } from 'xstate';
import { describe, expect, it } from 'vitest';
import { poolUnderTest } from './support/pool-under-test.js';

describe('connection actors', () => {
  it('are the truth for connections() and stats(), never stale when read', async () => {
    const { pool } = poolUnderTest();
    const a = await pool.acquire('http://a.test');
    const b = await pool.acquire('http://a.test');
    b.release();
    expect(pool.connections().map((c) => [c.id, c.state])).toEqual([
      ['c1', 'inUse'],
      ['c2', 'idle'],
    ]);
    expect(pool.stats()).toMatchObject({ connections: 2, idle: 1, inUse: 1, connecting: 0, leases: 1 });
    a.release();
    expect(pool.stats()).toMatchObject({ idle: 2, inUse: 0 });
    expect(pool.idleConnectionCount()).toBe(2);
  });

  it('hand every transition to an inspector, as it happens', async () => {
    const transitions: string[] = [];
    const inspect = (event: InspectionEvent): void => {
      if (event.type === '@xstate.snapshot' && event.actorRef.sessionId !== event.rootId) {
        const value = (event.snapshot as { value?: unknown }).value;
        if (typeof value === 'string') transitions.push(`${event.event.type}->${value}`);
      }
    };
    const { pool } = poolUnderTest({ inspect, maxIdleConnections: 1 });
    const lease = await pool.acquire('http://a.test');
    expect(transitions).toEqual(['xstate.init->connecting', 'CONNECTED->idle', 'ACQUIRE->inUse']);
    lease.release();
    expect(transitions.at(-1)).toBe('RELEASE->idle');
    pool.evictAll();
    expect(transitions.at(-1)).toBe('EVICT->evicted');
  });

  it('end in evicted with the reason, whatever the path', async () => {
    const { pool, connector } = poolUnderTest();
    const lease = await pool.acquire('http://a.test');
    const view = lease.connection;
    connector.transports[0]?.peerClose();
    expect(view.state).toBe('evicted');
  });
});
