import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtServiceEntry } from '../app/support/built-service.js';
import { ServiceProcess } from '../app/support/service-process.js';
import { rawExchange } from './support/raw-client.js';

let entry: string;
const started: ServiceProcess[] = [];
beforeAll(async () => {
  entry = await builtServiceEntry();
}, 120_000);
afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.stop()));
});

describe("Node's strict parser, whatever the process flags say", { timeout: 120_000 }, () => {
  it('NODE_OPTIONS=--insecure-http-parser does not make the gateway lenient: obs-fold, NUL and bare LF are still refused', async () => {
    const service = ServiceProcess.start(entry, { PORT: '0', NODE_OPTIONS: '--insecure-http-parser' });
    started.push(service);
    const port = Number(new URL(await service.baseUrl()).port);
    const lenientOnly = [
      'GET /proxy/echo HTTP/1.1\r\nHost: gateway.test\r\nX-Folded: a\r\n b\r\n\r\n',
      'GET /proxy/echo HTTP/1.1\r\nHost: gateway.test\r\nX-Nul: a\x00b\r\n\r\n',
      'GET /proxy/echo HTTP/1.1\nHost: gateway.test\n\n',
    ];
    for (const bytes of lenientOnly) {
      const exchange = await rawExchange(port, bytes, { methods: ['GET'] });
      expect(exchange.responses.map((r) => r.status)).toEqual([400]);
    }
    // The service itself works.
    const fine = await rawExchange(port, 'GET /proxy/echo HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n', { methods: ['GET'] });
    expect(fine.responses.map((r) => r.status)).toEqual([200]);
  });
});
