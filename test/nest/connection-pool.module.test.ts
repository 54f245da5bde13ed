import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { InvalidOptionError, type ConnectionPoolOptions, type Duration } from '../../src/pool/index.js';
import {
  ConnectionPoolModule,
  type ConnectionPoolOptionsFactory,
  ConnectionPoolRegistry,
  InjectConnectionPool,
  getConnectionPoolToken,
} from '../../src/nest/index.js';
import { LoopbackServer } from './support/loopback-server.js';
import { echo, tcpConnector } from './support/tcp-connector.js';

let upstream: LoopbackServer;
beforeAll(async () => {
  upstream = await new LoopbackServer().start();
});
afterAll(async () => {
  await upstream.stop();
});

@Injectable()
class DefaultPoolUser {
  constructor(
    readonly byType: ConnectionPool,
    @InjectConnectionPool() readonly byDecorator: ConnectionPool,
  ) {}
}

@Injectable()
class TwoPoolUser {
  constructor(
    @InjectConnectionPool('payments') readonly payments: ConnectionPool,
    @InjectConnectionPool('search') readonly search: ConnectionPool,
  ) {}
}

describe('ConnectionPoolModule.forRoot', () => {
  it('provides one default pool, injectable by type and by @InjectConnectionPool(), usable for a raw TCP exchange', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector, maxIdleConnections: 2 })],
      providers: [DefaultPoolUser],
    }).compile();
    await moduleRef.init();
    const user = moduleRef.get(DefaultPoolUser);
    expect(user.byType).toBeInstanceOf(ConnectionPool);
    expect(user.byDecorator).toBe(user.byType);
    expect(moduleRef.get(getConnectionPoolToken())).toBe(user.byType);
    expect(user.byType.options.maxIdleConnections).toBe(2);

    const lease = await user.byType.acquire(upstream.url);
    expect(await echo(lease, 'ping')).toBe('ping');
    lease.release();
    expect(moduleRef.get(ConnectionPoolRegistry).list().map((r) => r.name)).toEqual(['default']);
    await moduleRef.close();
  });

  it('provides two named pools side by side, each with its own options and connections', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConnectionPoolModule.forRoot({ name: 'payments', connector: tcpConnector, maxConnections: 1 }),
        ConnectionPoolModule.forRoot({ name: 'search', connector: tcpConnector, maxConnections: 3 }),
      ],
      providers: [TwoPoolUser],
    }).compile();
    await moduleRef.init();
    const { payments, search } = moduleRef.get(TwoPoolUser);
    expect(payments).not.toBe(search);
    expect(moduleRef.get(getConnectionPoolToken('payments'))).toBe(payments);
    expect(getConnectionPoolToken('payments')).toBe('paymentsConnectionPool');
    expect(payments.options.maxConnections).toBe(1);
    expect(search.options.maxConnections).toBe(3);

    const lease = await payments.acquire(upstream.url);
    expect(await echo(lease, 'pay')).toBe('pay');
    expect(payments.stats().inUse).toBe(1);
    expect(search.stats().connections).toBe(0);
    lease.release();
    expect(moduleRef.get(ConnectionPoolRegistry).list().map((r) => r.name)).toEqual(['payments', 'search']);
    await moduleRef.close();
    expect(payments.stats().state).toBe('closed');
    expect(search.stats().state).toBe('closed');
  });
});

@Module({ providers: [DefaultPoolUser] })
class FeatureModule {}

describe('isGlobal', () => {
  it('makes the pool injectable in modules that do not import ConnectionPoolModule', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector, isGlobal: true }), FeatureModule],
    }).compile();
    expect(moduleRef.get(DefaultPoolUser).byType).toBeInstanceOf(ConnectionPool);
    await moduleRef.close();
  });

  it('without it, a module that does not import the pool cannot inject it', async () => {
    await expect(
      Test.createTestingModule({ imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector }), FeatureModule] }).compile(),
    ).rejects.toThrow(/can't resolve dependencies of the DefaultPoolUser \(\?, ConnectionPool\)/);
  });
});

const config = () => ({ pool: { maxIdle: 3, keepAlive: '2s', badKeepAlive: 'soon' } });

@Injectable()
class PoolConfig implements ConnectionPoolOptionsFactory {
  constructor(private readonly config: ConfigService) {}
  createConnectionPoolOptions(): ConnectionPoolOptions {
    return { connector: tcpConnector, maxIdleConnections: this.config.getOrThrow<number>('pool.maxIdle') };
  }
}

@Module({ imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [config] })], providers: [PoolConfig], exports: [PoolConfig] })
class PoolConfigModule {}

describe('ConnectionPoolModule.forRootAsync', () => {
  it('takes its options from ConfigService with useFactory + inject + imports', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConnectionPoolModule.forRootAsync({
          name: 'payments',
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [config] })],
          inject: [ConfigService],
          useFactory: (cfg: ConfigService) => ({
            connector: tcpConnector,
            maxIdleConnections: cfg.getOrThrow<number>('pool.maxIdle'),
            keepAlive: cfg.getOrThrow<Duration>('pool.keepAlive'),
          }),
        }),
      ],
    }).compile();
    const pool = moduleRef.get<ConnectionPool>(getConnectionPoolToken('payments'));
    expect(pool.options).toMatchObject({ maxIdleConnections: 3, keepAliveMs: 2_000 });
    await moduleRef.close();
  });

  it('takes its options from a class with useClass', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConnectionPoolModule.forRootAsync({
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [config] })],
          useClass: PoolConfig,
        }),
      ],
    }).compile();
    expect(moduleRef.get(ConnectionPool).options.maxIdleConnections).toBe(3);
    await moduleRef.close();
  });

  it('takes its options from an existing provider with useExisting', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConnectionPoolModule.forRootAsync({ name: 'search', imports: [PoolConfigModule], useExisting: PoolConfig })],
    }).compile();
    expect(moduleRef.get<ConnectionPool>(getConnectionPoolToken('search')).options.maxIdleConnections).toBe(3);
    await moduleRef.close();
  });
});

describe('bad options stop the application from starting', () => {
  it('names the option, the value and the pool (forRoot)', async () => {
    const boot = Test.createTestingModule({
      imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector, maxIdleConnections: -1 })],
    }).compile();
    await expect(boot).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'maxIdleConnections',
      message: expect.stringMatching(/^ConnectionPoolModule, pool "default": Invalid option "maxIdleConnections": -1\. Expected an integer >= 0/),
    });
  });

  it('names the option, the value and the pool (forRootAsync from config)', async () => {
    const boot = Test.createTestingModule({
      imports: [
        ConnectionPoolModule.forRoot({ name: 'search', connector: tcpConnector }),
        ConnectionPoolModule.forRootAsync({
          name: 'payments',
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [config] })],
          inject: [ConfigService],
          useFactory: (cfg: ConfigService) => ({ connector: tcpConnector, keepAlive: cfg.getOrThrow<Duration>('pool.badKeepAlive') }),
        }),
      ],
    }).compile();
    const error = await boot.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('keepAlive');
    expect((error as Error).message).toContain('pool "payments": Invalid option "keepAlive": "soon"');
    expect((error as Error).stack).toContain('pool "payments"');
  });

  it('rejects a misspelt option, naming it', async () => {
    await expect(
      Test.createTestingModule({
        imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector, keepalive: '5s' } as ConnectionPoolOptions)],
      }).compile(),
    ).rejects.toMatchObject({ option: 'keepalive', message: expect.stringContaining('check the spelling') });
  });

  it('gives a pool without a connector the default TCP/TLS connector and HTTP agents', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConnectionPoolModule.forRoot({})] }).compile();
    const pool = moduleRef.get(ConnectionPool);
    expect(pool).toBeInstanceOf(ConnectionPool);
    expect(pool.httpAgent()).toBeDefined();
    await moduleRef.close();
  });

  it('rejects two registrations with the same name', async () => {
    const boot = Test.createTestingModule({
      imports: [
        ConnectionPoolModule.forRoot({ name: 'payments', connector: tcpConnector, maxConnections: 1 }),
        ConnectionPoolModule.forRoot({ name: 'payments', connector: tcpConnector, maxConnections: 2 }),
      ],
    }).compile();
    await expect(boot).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'name',
      message: expect.stringContaining('give each pool its own name'),
    });
  });

  it('rejects a name that is not a non-empty string, when the module is declared', () => {
    expect(() => ConnectionPoolModule.forRoot({ name: '', connector: tcpConnector })).toThrow(/Invalid option "name": ""/);
    expect(() => getConnectionPoolToken(42 as unknown as string)).toThrow(InvalidOptionError);
  });
});

describe('ConnectionPoolModule without forRoot()', () => {
  it('imported without forRoot(), provides no pool (and has none to close)', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConnectionPoolModule] }).compile();
    expect(() => moduleRef.get(ConnectionPool)).toThrow(/ConnectionPool/);
    await expect(moduleRef.close()).resolves.toBeUndefined();
  });
});
