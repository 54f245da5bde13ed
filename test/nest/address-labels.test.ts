import { describe, expect, it } from 'vitest';
import { AddressLabels } from '../../src/nest/index.js';

describe('AddressLabels', () => {
  it('gives the first addresses their own label, later ones "other", and never moves a label', () => {
    const labels = new AddressLabels(2);
    expect(['a', 'b', 'c', 'a', 'd', 'b'].map((address) => labels.labelFor(address))).toEqual(['a', 'b', 'other', 'a', 'other', 'b']);
    expect(labels.size).toBe(2);
  });
});
