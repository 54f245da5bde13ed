import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionPool as HttpConnectionPool, PooledAgent } from '../../src/http/index.js';
import { ConnectionPool, InvalidOptionError, type Connector } from '../../src/pool/index.js';
import { NetConnector } from '../../src/transport/index.js';

/**
 * Fuzzing of every option the pool and its HTTP agent take: any value of any type (strings,
 * NaN, negative, fractional, huge, Infinity, objects, functions, symbols, bigints) either makes
 * a working pool or throws `ERR_INVALID_OPTION` naming the option (and, for numbers and short
 * strings, the value). Never another exception. Whether a value is valid is decided by a model
 * written from docs/architecture.md's rules, not read back from the code: where the two disagree, one of
 * them is wrong.
 *
 * What these found (durations beyond 2^31-1 ms firing at once; the complete pool taking `5` or
 * `null` as its options) is pinned in `regressions.test.ts`.
 */

const unusedConnector: Connector = { connect: () => Promise.reject(new Error('no connects in this test')) };

type Validity = (value: unknown) => boolean;

/** Durations: ms as a number, or '250ms' | '30s' | '5m' | '1h' (decimals allowed, blanks around tolerated); > 0. */
function duration(allowInfinity: boolean): Validity {
  return (value) => {
    let ms: number;
    if (typeof value === 'number') ms = value;
    else if (typeof value === 'string') {
      const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
      if (!match) return false;
      ms = Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
    } else return false;
    if (Number.isNaN(ms) || ms <= 0) return false;
    return ms !== Infinity || allowInfinity;
  };
}

const integerAtLeast =
  (min: number, allowInfinity: boolean): Validity =>
  (value) =>
    typeof value === 'number' && ((allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= min));

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** Every option of the engine's pool, and what docs/architecture.md says a valid value is (undefined is always valid: the default). */
const POOL_OPTIONS: Readonly<Record<string, Validity>> = {
  maxIdleConnections: integerAtLeast(0, false),
  keepAlive: duration(false),
  connector: (v) => isObject(v) && typeof v.connect === 'function',
  scheduler: (v) => isObject(v) && typeof v.schedule === 'function' && typeof v.now === 'function',
  maxConnectionsPerAddress: integerAtLeast(1, true),
  maxConnections: integerAtLeast(1, true),
  acquireTimeout: duration(true),
  connectTimeout: duration(true),
  drainTimeout: duration(true),
  leakDetectionThreshold: duration(false),
  captureAcquireStacks: (v) => typeof v === 'boolean',
  inspect: (v) => typeof v === 'function' || isObject(v),
};
const OPTION_NAMES = Object.keys(POOL_OPTIONS);

function isValid(name: string, value: unknown): boolean {
  if (value === undefined) return true;
  const rule = POOL_OPTIONS[name];
  return rule !== undefined && rule(value);
}

class SomeClass {
  readonly field = 1;
}

/** Values of every type and range, with the edges that break parsers weighted in. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.constantFrom<unknown>(
      undefined,
      null,
      NaN,
      Infinity,
      -Infinity,
      0,
      -0,
      1,
      -1,
      0.5,
      1e-300,
      2 ** 31 - 1,
      2 ** 53,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      true,
      false,
      '',
      ' ',
      '0',
      '1',
      '5m',
      '1.5s',
      '-1s',
      '0ms',
      '0.0s',
      'Infinity',
      'NaN',
      '1e3ms',
      '10 s',
      ' 30s ',
      '5min',
      '1d',
      '.5s',
      '5.s',
      '٣s',
      '５s',
      `${'9'.repeat(400)}ms`,
      `${'9'.repeat(400)}`,
      '\u0000',
      'ms',
      '__proto__',
      [],
      [1],
      {},
      Object.create(null),
      new Date(0),
      new Map(),
      new SomeClass(),
      Symbol('option'),
      10n,
      () => undefined,
      { connect: 'not a function' },
      { connect: () => undefined },
      { schedule: () => undefined },
      { schedule: () => undefined, now: () => 0 },
      { next: () => undefined },
    ),
    weight: 4,
  },
  { arbitrary: fc.double(), weight: 2 },
  { arbitrary: fc.integer({ min: -10, max: 10_000_000 }), weight: 2 },
  { arbitrary: fc.tuple(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom('ms', 's', 'm', 'h', '', 'sec', 'M')).map(([n, unit]) => `${n}${unit}`), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.bigInt(), weight: 1 },
  { arbitrary: fc.object({ maxDepth: 2 }), weight: 1 },
  { arbitrary: fc.array(fc.anything(), { maxLength: 3 }), weight: 1 },
);

/** Constructs, and checks the outcome against the model. Returns the pool, if one was made. */
function construct(options: Record<string, unknown>, invalidNames: readonly string[]): ConnectionPool | undefined {
  let pool: ConnectionPool | undefined;
  let thrown: unknown;
  try {
    pool = new ConnectionPool(options);
  } catch (error) {
    thrown = error;
  }
  if (invalidNames.length === 0) {
    expect(thrown).toBeUndefined();
    return pool;
  }
  expect(thrown).toBeInstanceOf(InvalidOptionError);
  const error = thrown as InvalidOptionError;
  expect(error.code).toBe('ERR_INVALID_OPTION');
  expect(invalidNames).toContain(error.option);
  expect(error.message).toContain(`"${error.option}"`);
  const value = options[error.option];
  if (typeof value === 'number') expect(error.message).toContain(String(value));
  if (typeof value === 'string' && value.length <= 80) expect(error.message).toContain(JSON.stringify(value));
  return undefined;
}

const optionName = fc.oneof(
  { arbitrary: fc.constantFrom(...OPTION_NAMES), weight: 8 },
  { arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'keepalive', 'maxIdle', 'timeout', ''), weight: 1 },
  { arbitrary: fc.string({ maxLength: 12 }).filter((name) => !OPTION_NAMES.includes(name)), weight: 1 },
);

describe('pool options under fuzzing (fast-check)', () => {
  it('any single option of any value: a valid pool exactly when docs/architecture.md says so, else ERR_INVALID_OPTION naming it', async () => {
    await fc.assert(
      fc.asyncProperty(optionName, anyValue, async (name, value) => {
        // A computed key makes an own property even of "__proto__", as a parsed config would.
        const options: Record<string, unknown> = name === 'connector' ? {} : { connector: unusedConnector };
        Object.defineProperty(options, name, { value, enumerable: true, configurable: true, writable: true });
        const known = OPTION_NAMES.includes(name);
        const invalid = !known || !isValid(name, value) ? [name] : [];
        // An object without its own "connector" gets none: the engine has no default connector.
        if (name === 'connector' && value === undefined) invalid.push('connector');
        const pool = construct(options, invalid);
        if (pool) await pool.close();
      }),
      { numRuns: 5_000 },
    );
  });

  it('many options at once: valid only if each is, and the error names one of the invalid ones', async () => {
    const someOptions = fc.dictionary(fc.constantFrom(...OPTION_NAMES.filter((n) => n !== 'connector')), anyValue, { maxKeys: 6 });
    await fc.assert(
      fc.asyncProperty(someOptions, async (options) => {
        const invalid = Object.entries(options)
          .filter(([name, value]) => !isValid(name, value))
          .map(([name]) => name);
        const pool = construct({ ...options, connector: unusedConnector }, invalid);
        if (pool === undefined) return;
        // A pool made of valid options works: an acquire settles (the connector refuses), close resolves.
        await expect(pool.acquire('tcp://fuzz.test:1')).rejects.toThrow('no connects in this test');
        await pool.close({ timeout: 1 });
        expect(pool.stats().state).toBe('closed');
      }),
      { numRuns: 2_000 },
    );
  });

  it('anything but an options object is refused with ERR_INVALID_OPTION ("options"), by the engine', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        fc.pre(value !== undefined && !(isObject(value) && !Array.isArray(value)));
        expect(() => new ConnectionPool(value as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'options' }));
      }),
      { numRuns: 1_000 },
    );
  });

  it('the complete pool (default connector) and its agents: ERR_INVALID_OPTION naming the option, or a working object', async () => {
    const agentOptions = fc.record(
      {
        keepAliveHintMargin: anyValue,
        protocol: fc.oneof(fc.constantFrom('http:', 'https:', 'ftp:', 'HTTP:', 'http'), anyValue),
        tls: fc.oneof(fc.constant({ rejectUnauthorized: false }), anyValue),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...OPTION_NAMES.filter((n) => n !== 'connector' && n !== 'scheduler' && n !== 'inspect')), anyValue, { maxKeys: 3 }),
        agentOptions,
        async (options, agent) => {
          const invalid = Object.entries(options).filter(([name, value]) => !isValid(name, value));
          let pool: HttpConnectionPool | undefined;
          try {
            pool = new HttpConnectionPool(options);
            expect(invalid).toEqual([]);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidOptionError);
            expect(invalid.map(([name]) => name)).toContain((error as InvalidOptionError).option);
            return;
          }
          try {
            const made = new PooledAgent(pool, agent as never);
            expect(made).toBeInstanceOf(PooledAgent);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidOptionError);
            // A TLS field is named as such ('tls.key'), the better to find it.
            const option = (error as InvalidOptionError).option.replace(/^tls\..*/, 'tls');
            expect(['keepAliveHintMargin', 'protocol', 'tls']).toContain(option);
          } finally {
            await pool.close({ timeout: 1 });
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("the connector's options, acquire's options and close's timeout: ERR_INVALID_OPTION naming them, never another error", async () => {
    const connectorOption = fc.constantFrom('noDelay', 'tcpKeepAlive', 'tcpKeepAliveInitialDelay', 'autoSelectFamily', 'autoSelectFamilyAttemptTimeout', 'lookup', 'proxyTls', 'http2', 'nodelay');
    await fc.assert(
      fc.asyncProperty(connectorOption, anyValue, fc.constantFrom('signal', 'reuse', 'coalesce'), anyValue, anyValue, async (name, value, acquireName, acquireValue, closeTimeout) => {
        try {
          new NetConnector({ [name]: value });
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidOptionError);
          expect((error as InvalidOptionError).option).toMatch(new RegExp(`^${name}(\\.|$)`));
        }
        const pool = new ConnectionPool({ connector: unusedConnector });
        try {
          const lease = await pool.acquire('tcp://fuzz.test:1', { [acquireName]: acquireValue } as never);
          lease.release();
        } catch (error) {
          // Either the option was refused, or it was fine and the connector refused the connect.
          const e = error as { code?: string; option?: string; message?: string };
          if (e.code === 'ERR_INVALID_OPTION') expect(e.option).toBe(acquireName);
          else expect(e.message).toBe('no connects in this test');
        }
        const closing = pool.close({ timeout: closeTimeout } as never);
        if (closeTimeout === undefined || duration(true)(closeTimeout)) {
          await closing;
        } else {
          await expect(closing).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'timeout' });
          await pool.close();
        }
      }),
      { numRuns: 1_500 },
    );
  });
});
