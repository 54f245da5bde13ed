import { afterAll, beforeAll, describe, it } from 'vitest';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { packTarball, removeTarball } from './support/consumer-project.js';
import { runNestConsumer } from './support/nest-consumer.js';

// A CommonJS Nest 11 application (Nest 11's template tsconfig: module commonjs, so node10
// resolution and require() at run time), built from the npm pack tarball with TypeScript 5.9.

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

describe('a CommonJS Nest 11 application', () => {
  it('installs the package, compiles, and uses the pool through the module, HttpModule, terminus 11 and prom-client', async () => {
    await runNestConsumer('nest11-cjs', tarball, upstream);
  }, 300_000);
});
