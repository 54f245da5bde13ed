import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/index.js';
import { ConnectionPoolActivity } from '../../src/nest/index.js';
import { fakePool } from './support/fake-pool.js';

const failed = (address: string, at: number): PoolEvent =>
  ({ type: 'connect-failed', at, connectionId: 'c', address, error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), durationMs: 0 }) as PoolEvent;
const connected = (address: string, at: number): PoolEvent => ({ type: 'connect-end', at, connectionId: 'c', address, durationMs: 0 }) as PoolEvent;

describe('ConnectionPoolActivity', () => {
  it('counts failures in a row per address; a success ends the run', () => {
    const { pool, events } = fakePool();
    const activity = new ConnectionPoolActivity(pool);
    events.next(failed('a', 10));
    events.next(failed('a', 20));
    events.next(failed('b', 20));
    events.next(connected('b', 25));
    expect(activity.failingAddresses(30, 30_000)).toEqual([
      { address: 'a', consecutiveFailures: 2, lastFailureAt: 20, lastSuccessAt: null, lastError: { name: 'Error', message: 'refused', code: 'ECONNREFUSED' } },
    ]);
    expect(activity.failingAddresses(30, 30_000, 3)).toEqual([]);
    expect(activity.failingAddresses(30_021, 30_000)).toEqual([]);
    expect(activity.address('b')).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: 25, lastFailureAt: 20 });
  });

  it('remembers at most maxTrackedAddresses addresses, forgetting the least recently active', () => {
    const { pool, events } = fakePool();
    const activity = new ConnectionPoolActivity(pool, { maxTrackedAddresses: 2 });
    events.next(failed('a', 1));
    events.next(failed('b', 2));
    events.next(failed('a', 3)); // a is now the most recent
    events.next(failed('c', 4)); // b goes
    expect(activity.failingAddresses(5, 100).map((r) => r.address)).toEqual(['a', 'c']);
    expect(activity.address('b')).toBeUndefined();
  });

  it('keeps at most maxIncidents leak timestamps, and counts those in the window', () => {
    const { pool, events } = fakePool();
    const activity = new ConnectionPoolActivity(pool, { maxIncidents: 3 });
    for (const at of [1, 2, 3, 4, 5]) events.next({ type: 'connection-leaked', at } as PoolEvent);
    events.next({ type: 'lease-held-too-long', at: 9 } as PoolEvent);
    expect(activity.recentLeaks(10, 100)).toBe(3);
    expect(activity.recentLeaks(10, 6)).toBe(2);
    expect(activity.recentLeasesHeldTooLong(10, 100)).toBe(1);
  });

  it('counts a rise of acquire timeouts only while the sample before it is within the window', () => {
    const { pool } = fakePool();
    const activity = new ConnectionPoolActivity(pool); // baseline: 0 at 0
    activity.observeAcquireTimeouts(10, 2);
    expect(activity.recentAcquireTimeouts(10, 30)).toBe(2);
    expect(activity.recentAcquireTimeouts(31, 30)).toBe(0);
    activity.observeAcquireTimeouts(100, 2);
    activity.observeAcquireTimeouts(110, 5);
    expect(activity.recentAcquireTimeouts(110, 30)).toBe(3);
  });

  it('stops watching on dispose()', () => {
    const { pool, events } = fakePool();
    const activity = new ConnectionPoolActivity(pool);
    activity.dispose();
    events.next(failed('a', 1));
    expect(activity.failingAddresses(1, 100)).toEqual([]);
    expect(events.observed).toBe(false);
  });
});
