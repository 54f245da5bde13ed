import type { Socket } from 'node:net';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import type { ConnectionPool, SocketTransport } from 'reactive-connection-pool';
import { ConnectionPoolModule, InjectConnectionPool } from 'reactive-connection-pool/nest';

const ECHO_SERVER = process.env.ECHO_SERVER ?? 'tcp://127.0.0.1:7007'; // answers each line with the same line

@Injectable()
export class EchoClient {
  constructor(@InjectConnectionPool('echo') private readonly pool: ConnectionPool) {}

  async echo(text: string): Promise<string> {
    using lease = await this.pool.acquire(ECHO_SERVER); // released when the block ends, whatever happens
    const transport = lease.transport as SocketTransport; // what the default connector makes for tcp: and tls:
    const socket = transport.attach(); // 1. take the socket: the pool stops watching it for stray bytes
    try {
      socket.write(`${text}\n`);
      const reply = await readLine(socket); // 2. read the whole answer, nothing more, then stop listening
      if (!transport.detach()) lease.noNewExchanges(); // 3. give it back; unfit (bytes left, peer gone): no reuse
      return reply;
    } catch (error) {
      transport.detach();
      lease.noNewExchanges(); // 4. after a failure the exchange is in an unknown state: close, never reuse
      throw error;
    }
  }
}

/** Reads one '\n'-terminated line from the socket, then removes its listeners. */
function readLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\n');
      if (end === -1) return;
      stop();
      if (end === received.length - 1) resolve(received.slice(0, end));
      else reject(new Error('the server answered more than one line')); // bytes past the answer: out of step
    };
    const onEnd = (): void => {
      stop();
      reject(new Error('the server closed the connection before answering'));
    };
    const onError = (error: Error): void => {
      stop();
      reject(error);
    };
    const stop = (): void => {
      socket.off('data', onData).off('end', onEnd).off('error', onError);
    };
    socket.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

@Controller('echo')
export class EchoController {
  constructor(private readonly client: EchoClient) {}

  @Get()
  echo(@Query('text') text: string): Promise<string> {
    return this.client.echo(text);
  }
}

@Module({
  imports: [ConnectionPoolModule.forRoot({ name: 'echo', maxIdleConnections: 2, keepAlive: '30s' })],
  controllers: [EchoController],
  providers: [EchoClient],
})
export class EchoModule {}
