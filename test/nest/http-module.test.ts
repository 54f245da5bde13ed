import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { ConnectionPoolModule, InjectConnectionPool, getConnectionPoolToken } from '../../src/nest/index.js';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { createApp } from './support/nest-app.js';

// @nestjs/axios's HttpModule sends its requests over the injected pool's agents.
const axiosPool = ConnectionPoolModule.forRoot({ name: 'axios', keepAlive: '30s', isGlobal: true });

/** A plain service with the pool injected, calling an upstream through the pool's agent. */
@Injectable()
class OrdersClient {
  constructor(
    private readonly http: HttpService,
    @InjectConnectionPool('upstream') private readonly pool: ConnectionPool,
  ) {}

  async viaHttpModule(origin: string): Promise<unknown> {
    return (await firstValueFrom(this.http.get(`${origin}/orders`))).data;
  }

  async viaNodeHttp(origin: string): Promise<string> {
    const { get } = await import('node:http');
    return new Promise((resolve, reject) => {
      get(`${origin}/orders`, { agent: this.pool.httpAgent() }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
  }
}

@Module({
  imports: [
    axiosPool,
    ConnectionPoolModule.forRoot({ name: 'upstream', maxIdleConnections: 4, keepAlive: '30s' }),
    HttpModule.registerAsync({
      inject: [getConnectionPoolToken('axios')],
      useFactory: (pool: ConnectionPool) => ({ httpAgent: pool.httpAgent(), httpsAgent: pool.httpsAgent(), proxy: false }),
    }),
  ],
  providers: [OrdersClient],
})
class AppModule {}

let upstream: HttpTestServer;
let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  await upstream?.close();
});

describe('@nestjs/axios and plain services over the injected pool', () => {
  it('HttpModule requests reuse pooled connections; a service uses its own injected pool', async () => {
    upstream = await startHttpServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url }));
    });
    app = await createApp({ imports: [AppModule] });
    const client = app.get(OrdersClient);
    const axiosPool = app.get<ConnectionPool>(getConnectionPoolToken('axios'));
    const upstreamPool = app.get<ConnectionPool>(getConnectionPoolToken('upstream'));

    for (let i = 0; i < 3; i++) expect(await client.viaHttpModule(upstream.origin)).toEqual({ path: '/orders' });
    expect(axiosPool.stats().totals).toMatchObject({ connects: 1, acquired: 3, reused: 2 });

    expect(JSON.parse(await client.viaNodeHttp(upstream.origin))).toEqual({ path: '/orders' });
    expect(upstreamPool.stats().totals).toMatchObject({ connects: 1, acquired: 1 });
    expect(upstream.sockets).toHaveLength(2);
  });
});
