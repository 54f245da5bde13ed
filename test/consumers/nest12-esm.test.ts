import { afterAll, beforeAll, describe, it } from 'vitest';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { packTarball, removeTarball } from './support/consumer-project.js';
import { runNestConsumer } from './support/nest-consumer.js';

// An ES module Nest 12 application ("type": "module", module nodenext), built from the npm pack
// tarball with TypeScript 6.

let upstream: HttpTestServer;
let tarball: string;

beforeAll(async () => {
  upstream = await startHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  tarball = await packTarball();
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  removeTarball(tarball);
});

describe('an ES module Nest 12 application', () => {
  it('installs the package, compiles, and uses the pool through the module, HttpModule, terminus 12 and prom-client', async () => {
    await runNestConsumer('nest12-esm', tarball, upstream);
  }, 300_000);
});
