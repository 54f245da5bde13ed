import { describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pool/index.js';
import { redactText, serializePoolEvent, toSafeError } from '../../src/nest/index.js';

describe('serializePoolEvent', () => {
  it('turns errors into { name, message, code } and leaves out their stack, cause and other fields', () => {
    const error = Object.assign(new TypeError('boom at https://admin:s3cret@db.test/x', { cause: new Error('inner') }), {
      code: 'E_BOOM',
      password: 's3cret',
    });
    const event = { type: 'connect-failed', at: 5, connectionId: 'c1', address: 'tcp://db.test:5432', error, durationMs: 3 } as PoolEvent;
    const serialized = serializePoolEvent(event);
    expect(serialized).toEqual({
      type: 'connect-failed',
      at: 5,
      connectionId: 'c1',
      address: 'tcp://db.test:5432',
      durationMs: 3,
      error: { name: 'TypeError', message: 'boom at https://***@db.test/x', code: 'E_BOOM' },
    });
    expect(JSON.stringify(serialized)).not.toContain('s3cret');
  });

  it('keeps numbers, booleans and null, redacts strings, and leaves out values it cannot vouch for', () => {
    const event = {
      type: 'connection-leaked',
      at: 1,
      reused: false,
      nothing: null,
      stack: 'at connect (http://u:p@h.test/)',
      extra: { token: 'abc' },
      list: ['abc'],
      fn: () => 'abc',
    } as unknown as PoolEvent;
    expect(serializePoolEvent(event)).toEqual({ type: 'connection-leaked', at: 1, reused: false, nothing: null, stack: 'at connect (http://***@h.test/)' });
  });

  it('describes non-Error throwables, numeric codes, and cuts long text', () => {
    expect(toSafeError('just a string')).toEqual({ name: 'Error', message: 'just a string' });
    expect(toSafeError(Object.assign(new Error('x'), { code: 42 }))).toEqual({ name: 'Error', message: 'x', code: '42' });
    expect(toSafeError(Object.assign(new Error('x'), { code: { nested: true } }))).toEqual({ name: 'Error', message: 'x' });
    const long = redactText('y'.repeat(5_000));
    expect(long).toHaveLength(2_001);
    expect(long.endsWith('…')).toBe(true);
    expect(redactText('a //one:two@h and //three@k')).toBe('a //***@h and //***@k');
  });
});
