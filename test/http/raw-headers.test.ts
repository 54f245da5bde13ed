import { describe, expect, it } from 'vitest';
import { isHeaderName, listsCloseOption } from '../../src/http/raw-headers.js';

const raw = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('raw response headers', () => {
  it('matches a header name in any case, bytes or string', () => {
    const connection = raw('connection');
    expect(isHeaderName(raw('Connection'), connection)).toBe(true);
    expect(isHeaderName(raw('CONNECTION'), connection)).toBe(true);
    expect(isHeaderName('Connection', connection)).toBe(true);
    expect(isHeaderName(raw('Connectiom'), connection)).toBe(false);
    expect(isHeaderName(raw('connections'), connection)).toBe(false);
    // '-' and digits are not letters: only A-Z fold.
    expect(isHeaderName(raw('keep-alive'), raw('keep-alive'))).toBe(true);
    expect(isHeaderName(raw('keep\ralive'), raw('keep-alive'))).toBe(false);
  });

  it.each([
    ['close', true],
    ['Close', true],
    ['CLOSE', true],
    [' close ', true],
    ['keep-alive, close', true],
    ['Upgrade,Close', true],
    ['close,\tkeep-alive', true],
    ['keep-alive', false],
    ['closed', false],
    ['x-close', false],
    ['clos', false],
    ['', false],
    [',,', false],
    ['keep-alive,', false],
    ['c lose', false],
  ])('Connection: %j lists close: %s', (value, expected) => {
    expect(listsCloseOption(raw(value))).toBe(expected);
    expect(listsCloseOption(value)).toBe(expected);
  });
});
