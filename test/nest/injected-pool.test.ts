import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionPool } from '../../src/pool/index.js';
import { ConnectionPoolModule, InjectConnectionPool } from '../../src/nest/index.js';
import { LoopbackServer } from './support/loopback-server.js';
import { createApp } from './support/nest-app.js';
import { echo, tcpConnector } from './support/tcp-connector.js';
import { waitFor } from '../support/wait-for.js';

// A plain service that does a raw TCP exchange over a connection of an injected, named pool
// (docs/nest.md's example of it, with the socket rules, is examples/nest-raw-tcp.ts).

let upstream: LoopbackServer;

@Injectable()
class EchoClient {
  constructor(@InjectConnectionPool('echo') private readonly pool: ConnectionPool) {}

  async echo(text: string): Promise<{ reply: string; connectionId: string }> {
    using lease = await this.pool.acquire(upstream.url);
    return { reply: await echo(lease, text), connectionId: lease.connection.id };
  }
}

@Controller('echo')
class EchoController {
  constructor(private readonly client: EchoClient) {}

  @Get()
  echo(@Query('text') text: string) {
    return this.client.echo(text);
  }
}

@Module({
  imports: [ConnectionPoolModule.forRoot({ name: 'echo', connector: tcpConnector, maxIdleConnections: 1 })],
  providers: [EchoClient],
  controllers: [EchoController],
})
class EchoModule {}

beforeAll(async () => {
  upstream = await new LoopbackServer().start();
});
afterAll(async () => {
  await upstream.stop();
});

describe('a service with the pool injected', () => {
  it('exchanges over pooled connections, reusing one connection across requests', async () => {
    const app = await createApp({ imports: [EchoModule] });
    const http = request(app.getHttpServer());
    const first = await http.get('/echo?text=hello').expect(200);
    const second = await http.get('/echo?text=again').expect(200);
    expect(first.body).toEqual({ reply: 'hello', connectionId: 'c1' });
    expect(second.body).toEqual({ reply: 'again', connectionId: 'c1' });
    expect(upstream.accepted).toBe(1);
    await app.close();
    await waitFor(() => upstream.openConnections === 0, 'the pooled connection to be closed by the shutdown');
  });
});
