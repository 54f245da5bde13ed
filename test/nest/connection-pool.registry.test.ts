import { describe, expect, it } from 'vitest';
import { ConnectionPoolRegistry } from '../../src/nest/index.js';
import { fakePool } from './support/fake-pool.js';

describe('ConnectionPoolRegistry', () => {
  it('tells subscribers about pools there already and to come, until they unsubscribe', () => {
    const registry = new ConnectionPoolRegistry();
    const seen: string[] = [];
    registry.register('a', fakePool().pool);
    const stop = registry.subscribe((r) => seen.push(r.name));
    registry.register('b', fakePool().pool);
    stop();
    registry.register('c', fakePool().pool);
    expect(seen).toEqual(['a', 'b']);
    expect(registry.list().map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('unregisters a pool and stops watching it; names the pools there are when one is missing', () => {
    const registry = new ConnectionPoolRegistry();
    expect(() => registry.get()).toThrow(/Invalid option "pool": "default".*\(registered: none\)/);
    const { pool, events } = fakePool();
    const registration = registry.register('default', pool);
    expect(registry.get()).toBe(registration);
    registry.unregister(registration);
    expect(registry.find()).toBeUndefined();
    expect(events.observed).toBe(false);
    expect(() => registry.register('', pool)).toThrow(/Invalid option "name": ""/);
  });
});
