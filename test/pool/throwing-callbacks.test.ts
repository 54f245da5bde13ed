import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionPool,
  type Address,
  type ConnectContext,
  type ConnectionHooks,
  type Connector,
  type PoolEvent,
  type Transport,
} from '../../src/pool/index.js';

/**
 * A user's callback that throws must never take the process down nor leave the pool
 * counting what is not there (issue 12): each test listens for unhandled rejections and
 * exceptions, lets the timers that RxJS and Node report them on run, and compares the
 * pool's counts with its connections().
 */
let problems: unknown[];
let warnings: Error[];
const onProblem = (error: unknown): void => void problems.push(error);
const onWarning = (warning: Error): void => void warnings.push(warning);

beforeEach(() => {
  problems = [];
  warnings = [];
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtException', onProblem);
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('unhandledRejection', onProblem);
  process.off('uncaughtException', onProblem);
  process.off('warning', onWarning);
});

/**
 * Lets what reports errors later run: RxJS throws a subscriber's error from a 0-1 ms timer,
 * Node emits warnings and unhandled rejections on the next ticks. A later timer fires after them.
 */
function reported(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

/** A transport that counts its closes; its `on` may be made to throw. */
class CountingTransport implements Transport {
  closes = 0;
  readonly listeners = new Set<() => void>();
  constructor(readonly onThrows = false) {}
  close(): void {
    this.closes++;
  }
  on(_event: 'close', listener: () => void): void {
    if (this.onThrows) throw new Error('on() is broken');
    this.listeners.add(listener);
  }
  off(_event: 'close', listener: () => void): void {
    this.listeners.delete(listener);
  }
}

function connectorOf(connect: (address: Address, context: ConnectContext) => Promise<Transport>): Connector {
  return { connect };
}

function expectCountsAgree(pool: ConnectionPool): void {
  const connections = pool.connections();
  const stats = pool.stats();
  expect(pool.connectionCount()).toBe(connections.length);
  expect(stats.connections).toBe(connections.length);
  expect(stats.idle).toBe(connections.filter((c) => c.state === 'idle').length);
  expect(stats.inUse).toBe(connections.filter((c) => c.state === 'inUse').length);
  expect(stats.connecting).toBe(connections.filter((c) => c.state === 'connecting').length);
  expect(pool.idleConnectionCount()).toBe(stats.idle);
}

let pool: ConnectionPool;
afterEach(async () => {
  await pool?.close({ timeout: 1_000 });
});

describe('a transport whose on() throws', () => {
  it('fails that acquire with a clear error, closes the transport once, counts nothing, and the pool goes on', async () => {
    const made: CountingTransport[] = [];
    let broken = true;
    pool = new ConnectionPool({
      connector: connectorOf(async () => {
        const transport = new CountingTransport(broken);
        made.push(transport);
        return transport;
      }),
    });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));

    await expect(pool.acquire('tcp://upstream.test:7000')).rejects.toMatchObject({
      code: 'ERR_CONNECTOR_RESULT',
      message: expect.stringMatching(/on\('close', listener\) threw: on\(\) is broken/),
    });
    expect(made[0]?.closes).toBe(1);
    expect(events.map((event) => event.type)).toEqual(['connect-start', 'connect-failed']);
    expectCountsAgree(pool);
    expect(pool.connectionCount()).toBe(0);

    broken = false;
    const lease = await pool.acquire('tcp://upstream.test:7000');
    expectCountsAgree(pool);
    expect(pool.stats()).toMatchObject({ connections: 1, inUse: 1 });
    lease.release();
    await reported();
    expect(problems).toEqual([]);
  });
});

describe('a connector that throws', () => {
  it('synchronously: the acquire rejects with its error, nothing is counted', async () => {
    pool = new ConnectionPool({
      connector: {
        connect() {
          throw new Error('connector exploded');
        },
      },
    });
    await expect(pool.acquire('tcp://upstream.test:7000')).rejects.toThrow('connector exploded');
    expectCountsAgree(pool);
    expect(pool.stats().totals).toMatchObject({ connects: 1, connectFailures: 1 });
    await reported();
    expect(problems).toEqual([]);
  });

  it('by rejecting with something that is not an Error: the acquire rejects with an Error saying what it got', async () => {
    pool = new ConnectionPool({ connector: connectorOf(() => Promise.reject('a string')) });
    const error = (await pool.acquire('tcp://upstream.test:7000').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('a string');
    expectCountsAgree(pool);
    pool = new ConnectionPool({ connector: connectorOf(() => Promise.reject(undefined)) });
    await expect(pool.acquire('tcp://upstream.test:7000')).rejects.toBeInstanceOf(Error);
    expectCountsAgree(pool);
    await reported();
    expect(problems).toEqual([]);
  });
});

describe('an events$ subscriber that throws', () => {
  it('is reported with a warning, and neither the pool, its other subscribers nor the process suffer', async () => {
    pool = new ConnectionPool({ connector: connectorOf(async () => new CountingTransport()) });
    let thrown = 0;
    pool.events$.subscribe(() => {
      thrown++;
      throw new Error('subscriber bug');
    });
    const seen: string[] = [];
    pool.events$.subscribe((event) => seen.push(event.type));

    const lease = await pool.acquire('tcp://upstream.test:7000');
    lease.release();
    const again = await pool.acquire('tcp://upstream.test:7000');
    again.release();
    expect(pool.evictAll()).toBe(1);
    expectCountsAgree(pool);
    await pool.close();
    await reported();

    expect(thrown).toBeGreaterThan(5);
    expect(seen).toEqual([
      'connect-start',
      'connect-end',
      'connection-acquired',
      'connection-released',
      'connection-acquired',
      'connection-released',
      'connection-closed',
      'pool-closing',
      'pool-closed',
    ]);
    expect(problems).toEqual([]);
    const ours = warnings.filter((warning) => (warning as { code?: string }).code === 'ERR_POOL_CALLBACK_THREW');
    expect(ours.length).toBeGreaterThanOrEqual(1);
    expect(ours[0]?.message).toMatch(/events\$ subscriber.*subscriber bug/);
  });

  it('in its complete callback: close() resolves, and the process stays up', async () => {
    pool = new ConnectionPool({ connector: connectorOf(async () => new CountingTransport()) });
    pool.events$.subscribe({
      complete: () => {
        throw new Error('complete bug');
      },
    });
    (await pool.acquire('tcp://upstream.test:7000')).release();
    await pool.close();
    expect(pool.stats().state).toBe('closed');
    expectCountsAgree(pool);
    await reported();
    expect(problems).toEqual([]);
    expect(warnings.some((warning) => /complete bug/.test(warning.message))).toBe(true);
  });

  it('in an operator chain (pipe, filter, map) too', async () => {
    pool = new ConnectionPool({ connector: connectorOf(async () => new CountingTransport()) });
    const { filter, map } = await import('rxjs');
    pool.events$
      .pipe(
        filter((event) => event.type === 'connection-acquired'),
        map(() => {
          throw new Error('projection bug');
        }),
      )
      .subscribe({ next: () => undefined });
    const lease = await pool.acquire('tcp://upstream.test:7000');
    lease.release();
    expectCountsAgree(pool);
    await reported();
    expect(problems).toEqual([]);
    expect(warnings.some((warning) => /projection bug/.test(warning.message))).toBe(true);
  });
});

describe('an inspect observer that throws', () => {
  for (const [form, inspect] of [
    [
      'a function',
      () => {
        throw new Error('inspector bug');
      },
    ],
    [
      'an observer',
      {
        next: () => {
          throw new Error('inspector bug');
        },
      },
    ],
  ] as const) {
    it(`(${form}): the pool is made, works and closes; the error is reported with a warning`, async () => {
      pool = new ConnectionPool({ connector: connectorOf(async () => new CountingTransport()), inspect: inspect as never });
      const lease = await pool.acquire('tcp://upstream.test:7000');
      expectCountsAgree(pool);
      lease.release();
      expectCountsAgree(pool);
      await pool.close();
      await reported();
      expect(problems).toEqual([]);
      expect(warnings.some((warning) => (warning as { code?: string }).code === 'ERR_POOL_CALLBACK_THREW' && /inspect.*inspector bug/.test(warning.message))).toBe(
        true,
      );
    });
  }
});

describe('the ConnectionHooks a transport calls', () => {
  it('never throw into the transport, even when an events$ subscriber throws, and are ignored once the connection is gone', async () => {
    let hooks: ConnectionHooks | undefined;
    pool = new ConnectionPool({
      connector: connectorOf(async (_address, context) => {
        hooks = context.hooks;
        return new CountingTransport();
      }),
    });
    pool.events$.subscribe(() => {
      throw new Error('subscriber bug');
    });
    const lease = await pool.acquire('tcp://upstream.test:7000');
    expect(() => hooks?.capacityChanged()).not.toThrow();
    expect(() => hooks?.noNewExchanges()).not.toThrow();
    expect(() => hooks?.noNewExchanges('bogus' as never)).not.toThrow();
    expectCountsAgree(pool);
    lease.release();
    // Marked noNewExchanges: it closed on release.
    expect(pool.connectionCount()).toBe(0);
    expect(() => hooks?.noNewExchanges('unhealthy')).not.toThrow();
    expect(() => hooks?.capacityChanged()).not.toThrow();
    expectCountsAgree(pool);
    await reported();
    expect(problems).toEqual([]);
  });
});
