import { describe, expect, it } from 'vitest';
import { poolUnderTest } from './support/pool-under-test.js';

// The registry keeps connections in chunks of 1024 consecutive ids, and their actors in actor
// systems of 1024 (when nobody inspects them): neither may show through the public API.

const N = 2_100; // three chunks, three actor systems

describe('many connections, across the registry chunks and actor systems', () => {
  it('connections() lists them in the order they were made, evict(id) finds each, and unknown ids are refused', async () => {
    const { pool } = poolUnderTest({ maxIdleConnections: N });
    const leases = await Promise.all(Array.from({ length: N }, () => pool.acquire('http://a.test')));
    for (const lease of leases) lease.release();
    expect(pool.connections().map((info) => info.id)).toEqual(Array.from({ length: N }, (_, i) => `c${i + 1}`));
    // One from each chunk, and a whole chunk's worth from the first.
    for (const id of ['c1', 'c1024', 'c1025', 'c2048', 'c2049', 'c2100']) expect(pool.evict(id)).toBe(true);
    for (let i = 2; i < 1024; i++) expect(pool.evict(`c${i}`)).toBe(true);
    for (const id of ['c1', 'c0', 'c01', 'c2101', 'x5', '', 'c1.5', 'c-3', 'c99999999999999999999']) expect(pool.evict(id)).toBe(false);
    const left = pool.connections().map((info) => info.id);
    expect(left).toHaveLength(N - 1024 - 4);
    expect(left[0]).toBe('c1026');
    expect(left.at(-1)).toBe('c2099');
    expect(pool.stats()).toMatchObject({ connections: N - 1028, idle: N - 1028 });
    // Every lease's view still reads its actor: evicted ones their final state, the others idle.
    for (const [i, lease] of leases.entries()) expect(lease.connection.state).toBe(i < 1025 || i === 2047 || i === 2048 || i === 2099 ? 'evicted' : 'idle');
  });

  it('connections made after a chunk emptied are listed after the older ones still open', async () => {
    const { pool } = poolUnderTest({ maxIdleConnections: N });
    const first = await Promise.all(Array.from({ length: 1_030 }, () => pool.acquire('http://a.test')));
    for (const lease of first.slice(0, 1_023)) lease.release();
    expect(pool.evictAll()).toBe(1_023); // c1..c1023 gone: the first chunk holds nothing
    const more = await Promise.all(Array.from({ length: 3 }, () => pool.acquire('http://b.test')));
    expect(pool.connections().map((info) => info.id)).toEqual([...Array.from({ length: 7 }, (_, i) => `c${1_024 + i}`), 'c1031', 'c1032', 'c1033']);
    for (const lease of [...first.slice(1_023), ...more]) lease.release();
    await pool.close();
    expect(pool.connectionCount()).toBe(0);
  });
});
