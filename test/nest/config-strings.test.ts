import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { InvalidOptionError } from '../../src/pool/index.js';
import { ConnectionPoolModule, getConnectionPoolToken, poolOptionsFromConfig } from '../../src/nest/index.js';
import { tcpConnector } from './support/tcp-connector.js';

// ConfigService gives what the environment holds: strings. The module reads number, duration
// and boolean strings as the pool's values, and the pool validates them as it validates any.

const ENV = {
  RCP_TEST_MAX_CONNECTIONS: '8',
  RCP_TEST_MAX_PER_ADDRESS: 'Infinity',
  RCP_TEST_MAX_IDLE: ' 0 ',
  RCP_TEST_KEEP_ALIVE: '30000',
  RCP_TEST_ACQUIRE_TIMEOUT: '1.5s',
  RCP_TEST_STACKS: 'true',
};

afterEach(() => {
  for (const name of Object.keys(ENV)) delete process.env[name];
  delete process.env.RCP_TEST_BAD;
});

function bootFromEnv(read: (config: ConfigService) => Record<string, unknown>) {
  return Test.createTestingModule({
    imports: [
      ConnectionPoolModule.forRootAsync({
        name: 'payments',
        imports: [ConfigModule.forRoot({ ignoreEnvFile: true })],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({ connector: tcpConnector, ...read(config) }),
      }),
    ],
  }).compile();
}

describe('pool options from configuration strings', () => {
  it('reads integer, Infinity, millisecond, duration and boolean strings from the environment through ConfigService', async () => {
    Object.assign(process.env, ENV);
    const moduleRef = await bootFromEnv((config) => ({
      maxConnections: config.getOrThrow('RCP_TEST_MAX_CONNECTIONS'),
      maxConnectionsPerAddress: config.getOrThrow('RCP_TEST_MAX_PER_ADDRESS'),
      maxIdleConnections: config.getOrThrow('RCP_TEST_MAX_IDLE'),
      keepAlive: config.getOrThrow('RCP_TEST_KEEP_ALIVE'),
      acquireTimeout: config.getOrThrow('RCP_TEST_ACQUIRE_TIMEOUT'),
      captureAcquireStacks: config.getOrThrow('RCP_TEST_STACKS'),
    }));
    const pool = moduleRef.get<ConnectionPool>(getConnectionPoolToken('payments'));
    expect(pool.options).toMatchObject({
      maxConnections: 8,
      maxConnectionsPerAddress: Infinity,
      maxIdleConnections: 0,
      keepAliveMs: 30_000,
      acquireTimeoutMs: 1_500,
      captureAcquireStacks: true,
    });
    await moduleRef.close();
  });

  it('validates a string as the number it stands for: "0" is no more a valid maxConnections than 0', async () => {
    process.env.RCP_TEST_BAD = '0';
    const error = await bootFromEnv((config) => ({ maxConnections: config.getOrThrow('RCP_TEST_BAD') })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toBe(
      'ConnectionPoolModule, pool "payments": Invalid option "maxConnections": 0. Expected an integer >= 1, or Infinity.',
    );
  });

  it('rejects a string that is no number, duration or boolean, naming the option and the string as given', async () => {
    process.env.RCP_TEST_BAD = 'four';
    const error = await bootFromEnv((config) => ({ maxConnections: config.getOrThrow('RCP_TEST_BAD') })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'maxConnections' });
    expect((error as Error).message).toMatch(/^ConnectionPoolModule, pool "payments": Invalid option "maxConnections": "four"\. Expected an integer >= 1/);
  });

  it('leaves every other value as it is', () => {
    const connector = tcpConnector;
    expect(poolOptionsFromConfig({ connector, keepAlive: '5m', maxConnections: 3, drainTimeout: 'soon' })).toEqual({
      connector,
      keepAlive: '5m',
      maxConnections: 3,
      drainTimeout: 'soon',
    });
    expect(poolOptionsFromConfig(undefined)).toBeUndefined();
    expect(() => new ConnectionPool(poolOptionsFromConfig({ keepAlive: '-5' }))).toThrow(/Invalid option "keepAlive": "-5"/);
  });
});

describe('start-up errors', () => {
  it('carry the module prefix once, in the message and in the stack', async () => {
    const error = (await Test.createTestingModule({
      imports: [ConnectionPoolModule.forRoot({ name: 'payments', connector: tcpConnector, keepAlive: 'soon' })],
    })
      .compile()
      .catch((e: unknown) => e)) as Error;
    const prefix = 'ConnectionPoolModule, pool "payments": ';
    expect(error.message.split(prefix)).toHaveLength(2);
    expect(error.message.startsWith(`${prefix}Invalid option "keepAlive": "soon".`)).toBe(true);
    expect(error.stack?.split(prefix)).toHaveLength(2);
    expect(error.stack?.startsWith(`InvalidOptionError: ${error.message}`)).toBe(true);
  });
});
