import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import type { ConnectionPool } from '../../src/http/index.js';
import { ConnectionPoolHealthModule, ConnectionPoolModule, InjectConnectionPool, getConnectionPoolToken } from '../../src/nest/index.js';
import { tcpConnector } from './support/tcp-connector.js';

// A misspelt or missing pool name fails at bootstrap with a message that lists the pools the
// application has, not only Nest's "can't resolve dependencies".

@Injectable()
class PaymentsClient {
  constructor(@InjectConnectionPool('paymnets') readonly pool: ConnectionPool) {}
}

@Injectable()
class SearchClient {
  constructor(@InjectConnectionPool('search') readonly pool: ConnectionPool) {}
}

@Module({ providers: [SearchClient], exports: [SearchClient] })
class SearchModule {}

describe('@InjectConnectionPool with a name no pool has', () => {
  it('stops the application at bootstrap, naming the pool asked for, the class asking and the pools registered', async () => {
    const error = await Test.createTestingModule({
      imports: [
        ConnectionPoolModule.forRoot({ connector: tcpConnector }),
        ConnectionPoolModule.forRoot({ name: 'payments', connector: tcpConnector }),
      ],
      providers: [PaymentsClient],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION', option: 'pool' });
    const message = (error as Error).message;
    expect(message).toContain('Invalid option "pool": "paymnets"');
    expect(message).toContain('(registered: "default", "payments")');
    expect(message).toContain('@InjectConnectionPool("paymnets") in PaymentsClient');
  });

  it('never stands in for a pool that is registered, global or not, whatever the order of the modules', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConnectionPoolHealthModule, // brings the core module in before the pool's own module
        ConnectionPoolModule.forRoot({ name: 'search', connector: tcpConnector, isGlobal: true }),
        SearchModule,
      ],
    }).compile();
    expect(moduleRef.get(SearchClient).pool).toBe(moduleRef.get(getConnectionPoolToken('search')));
    await moduleRef.close();
  });

  it('makes nothing at bootstrap in an application that does not ask for the unknown name', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector })] }).compile();
    await moduleRef.init();
    await moduleRef.close();
  });
});
