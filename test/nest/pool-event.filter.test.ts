import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/index.js';
import { POOL_EVENT_TYPES, matchesPoolEventFilter, parsePoolEventFilter } from '../../src/nest/index.js';

describe('parsePoolEventFilter / matchesPoolEventFilter', () => {
  const acquired = { type: 'connection-acquired', at: 0, connectionId: 'c1', address: 'http://a.test:80' } as PoolEvent;
  const closed = { type: 'pool-closed', at: 0, forced: 0 } as PoolEvent;

  it('lets everything through without a filter', () => {
    const filter = parsePoolEventFilter({});
    expect(filter).toEqual({ types: null, addresses: null });
    expect(matchesPoolEventFilter(filter, acquired)).toBe(true);
    expect(matchesPoolEventFilter(parsePoolEventFilter({ type: '', address: ' , ' }), closed)).toBe(true);
  });

  it('takes comma-separated and repeated values, trimmed', () => {
    expect(parsePoolEventFilter({ type: ['connect-start, pool-closed', 'connection-acquired'] }).types).toEqual(
      new Set(['connect-start', 'pool-closed', 'connection-acquired']),
    );
  });

  it("knows every event type of the engine, the HTTP layer's 'retry' included", () => {
    expect(POOL_EVENT_TYPES).toContain('retry');
    expect(parsePoolEventFilter({ type: 'retry' }).types).toEqual(new Set(['retry']));
  });

  it('matches by type and by address; events of no address never match an address filter', () => {
    const byAddress = parsePoolEventFilter({ address: 'http://a.test:80' });
    expect(matchesPoolEventFilter(byAddress, acquired)).toBe(true);
    expect(matchesPoolEventFilter(byAddress, closed)).toBe(false);
    expect(matchesPoolEventFilter(parsePoolEventFilter({ address: 'http://b.test:80' }), acquired)).toBe(false);
    expect(matchesPoolEventFilter(parsePoolEventFilter({ type: 'pool-closed' }), acquired)).toBe(false);
    expect(matchesPoolEventFilter(parsePoolEventFilter({ type: 'pool-closed' }), closed)).toBe(true);
  });

  it('rejects an unknown type, listing the known ones, and a value that is not a string', () => {
    expect(() => parsePoolEventFilter({ type: 'connect-start,retried' })).toThrow(
      `Invalid option "type": "retried". Expected event types among ${POOL_EVENT_TYPES.join(', ')} (comma-separated).`,
    );
    expect(() => parsePoolEventFilter({ type: 'toString' })).toThrow(/Invalid option "type": "toString"/);
    expect(() => parsePoolEventFilter({ address: [{}] as unknown as string[] })).toThrow(/Invalid option "address"/);
  });
});
