import { describe, expect, it } from 'vitest';
import { ConnectionPool, parseDuration } from '../../src/pool/index.js';

const connector = { connect: async () => ({ close() {} }) };

function invalid(options: Record<string, unknown>): { code: string; option: string; message: string } {
  try {
    new ConnectionPool({ connector, ...options } as never);
  } catch (error) {
    return error as { code: string; option: string; message: string };
  }
  throw new Error(`options ${JSON.stringify(options)} were accepted`);
}

describe('option validation', () => {
  it.each([
    ['maxIdleConnections', -1],
    ['maxIdleConnections', 1.5],
    ['maxIdleConnections', Number.NaN],
    ['maxIdleConnections', '5'],
    ['maxIdleConnections', Infinity],
    ['keepAlive', 0],
    ['keepAlive', -5],
    ['keepAlive', Number.NaN],
    ['keepAlive', Infinity],
    ['keepAlive', '5 minutes'],
    ['keepAlive', '5d'],
    ['keepAlive', ''],
    ['keepAlive', true],
    ['maxConnectionsPerAddress', 0],
    ['maxConnectionsPerAddress', 2.5],
    ['maxConnections', -Infinity],
    ['maxConnections', null],
    ['acquireTimeout', 0],
    ['acquireTimeout', '-1s'],
    ['connectTimeout', Number.NaN],
    ['drainTimeout', 'soon'],
    ['leakDetectionThreshold', Infinity],
    ['leakDetectionThreshold', 0],
    ['captureAcquireStacks', 'yes'],
    ['scheduler', {}],
    ['connector', { connect: 'no' }],
    ['inspect', 42],
    ['maxLifetime', 0],
    ['maxLifetime', -60_000],
    ['maxLifetime', 'a while'],
    ['maxLifetime', Number.NaN],
    ['random', 0.5],
    ['random', { next: () => 0.5 }],
    ['maxIdleConnection', 5],
  ])('rejects %s = %o with ERR_INVALID_OPTION naming the option and the value', (option, value) => {
    const error = invalid({ [option]: value });
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
    expect(error.message).toContain('Expected');
  });

  it('names the value in the message', () => {
    expect(invalid({ keepAlive: '5 minutes' }).message).toContain('"5 minutes"');
    expect(invalid({ maxIdleConnections: -1 }).message).toContain('-1');
  });

  it('suggests checking the spelling of an unknown option', () => {
    expect(invalid({ keepalive: '5m' }).message).toContain('check the spelling');
  });

  it('accepts every documented form', () => {
    const pool = new ConnectionPool({
      connector,
      maxIdleConnections: 0,
      keepAlive: '250ms',
      maxConnectionsPerAddress: Infinity,
      maxConnections: 1,
      acquireTimeout: Infinity,
      connectTimeout: '1.5s',
      drainTimeout: '1h',
      leakDetectionThreshold: '30s',
      captureAcquireStacks: true,
      maxLifetime: '5m',
      random: () => 0.5,
    });
    expect(pool.options).toMatchObject({
      maxIdleConnections: 0,
      keepAliveMs: 250,
      maxConnections: 1,
      acquireTimeoutMs: Infinity,
      connectTimeoutMs: 1_500,
      drainTimeoutMs: 3_600_000,
      leakDetectionThresholdMs: 30_000,
      maxLifetimeMs: 300_000,
    });
    expect(new ConnectionPool({ connector, maxLifetime: Infinity }).options.maxLifetimeMs).toBe(Infinity);
  });

  it('defaults to OkHttp: 5 idle connections kept 5 minutes', () => {
    expect(new ConnectionPool({ connector }).options).toMatchObject({
      maxIdleConnections: 5,
      keepAliveMs: 300_000,
      maxConnectionsPerAddress: Infinity,
      maxConnections: Infinity,
      acquireTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      drainTimeoutMs: 10_000,
      leakDetectionThresholdMs: undefined,
      captureAcquireStacks: false,
      maxLifetimeMs: Infinity,
      random: Math.random,
    });
  });

  it('parses durations in every unit', () => {
    expect(['250ms', '30s', '5m', '1h', '0.5s', 42].map((v) => parseDuration('x', v, false))).toEqual([
      250, 30_000, 300_000, 3_600_000, 500, 42,
    ]);
  });
});

describe('address validation', () => {
  const pool = new ConnectionPool({ connector });

  it.each([
    ['not a url', 'is not a valid URL'],
    ['ftp://a.test', 'unsupported scheme'],
    ['tcp://a.test', 'need a port'],
    [{ host: '', port: 1 }, 'non-empty string'],
    [{ host: 'a.test', port: 70_000 }, 'from 1 to 65535'],
    [{ host: 'a.test', port: 80, protocol: 'http:', tls: { ca: 'x' } }, 'cleartext'],
    [42, 'got 42'],
  ])('rejects %o with ERR_INVALID_ADDRESS (%s)', async (input, words) => {
    await expect(pool.acquire(input as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS', message: expect.stringContaining(words) });
  });

  it('never echoes credentials from a bad URL', async () => {
    const error = (await pool.acquire('http://user:hunter2@[bad').catch((e: Error) => e)) as Error;
    expect(error.message).not.toContain('hunter2');
  });

  it('rejects a signal that is not an AbortSignal', async () => {
    await expect(pool.acquire('http://a.test', { signal: {} as AbortSignal })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});
