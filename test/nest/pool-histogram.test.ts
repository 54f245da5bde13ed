import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PoolHistogram } from '../../src/nest/pool-histogram.js';
import { parsePrometheusText } from './support/prometheus-text.js';

const BOUNDS = [0.001, 0.01, 0.1, 1, 10];

describe('PoolHistogram', () => {
  it("serves what prom-client's Histogram serves for the same observations, bucket for bucket", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new PoolHistogram('wait_seconds', 'How long.', BOUNDS, ours);
    const reference = new Histogram({ name: 'wait_seconds', help: 'How long.', labelNames: ['pool'], buckets: BOUNDS, registers: [theirs] });
    const values: Array<[string, number]> = [
      ['a', 0],
      ['a', 0.001],
      ['a', 0.0010001],
      ['a', 0.5],
      ['a', 10],
      ['a', 11],
      ['b', 0.02],
      ['b', 3],
    ];
    for (const [pool, value] of values) {
      histogram.series(pool).observe(value);
      reference.observe({ pool }, value);
    }
    histogram.series('c');
    reference.zero({ pool: 'c' });
    expect(await ours.metrics()).toBe(await theirs.metrics());

    const parsed = parsePrometheusText(await ours.metrics());
    expect(parsed.types.get('wait_seconds')).toBe('histogram');
    expect(parsed.value('wait_seconds_bucket', { pool: 'a', le: '0.001' })).toBe(2);
    expect(parsed.value('wait_seconds_bucket', { pool: 'a', le: '+Inf' })).toBe(6);
    expect(parsed.value('wait_seconds_count', { pool: 'c' })).toBe(0);
  });

  it('ignores values that are not finite numbers >= 0, and goes back to zero with the registry', async () => {
    const registry = new Registry();
    const histogram = new PoolHistogram('hold_seconds', 'How long.', BOUNDS, registry);
    const series = histogram.series('default');
    for (const value of [-1, NaN, Infinity, 0.5]) series.observe(value);
    expect(parsePrometheusText(await registry.metrics()).value('hold_seconds_count', { pool: 'default' })).toBe(1);
    registry.resetMetrics();
    const parsed = parsePrometheusText(await registry.metrics());
    expect(parsed.value('hold_seconds_count', { pool: 'default' })).toBe(0);
    expect(parsed.value('hold_seconds_sum', { pool: 'default' })).toBe(0);
    series.observe(2);
    expect(parsePrometheusText(await registry.metrics()).value('hold_seconds_bucket', { pool: 'default', le: '10' })).toBe(1);
    expect(registry.getSingleMetric('hold_seconds')).toBe(histogram);
  });
});
