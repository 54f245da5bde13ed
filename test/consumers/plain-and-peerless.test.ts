import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run } from '../support/npm-projects.js';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';
import { copyIntoProject, installConsumer, packTarball, removeTarball, resultOf } from './support/consumer-project.js';

// Consumers without Nest, and a Nest application without the optional peers, each installed
// from the npm pack tarball into a folder of its own; and the tarball's types for every
// TypeScript resolution mode, by @arethetypeswrong/cli.

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

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, UPSTREAM: upstream.origin });
const tsc = (dir: string, project: string) => run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { cwd: dir });

describe('the package as its consumers install it', () => {
  it('a plain CommonJS script require()s it, reuses a connection, shares one module with import(), and type-checks under node16', async () => {
    const dir = await installConsumer('plain-cjs', tarball);
    copyIntoProject(dir, ['main.cjs', 'types.cts', 'tsconfig.json'].map((file) => ({ from: `plain-cjs/${file}`, to: file })));
    await tsc(dir, 'tsconfig.json');
    const socketsBefore = upstream.sockets.length;
    const result = resultOf((await run(process.execPath, ['main.cjs'], { cwd: dir, env: env() })).stdout);
    expect(result.bodies).toEqual([JSON.stringify({ path: '/a' }), JSON.stringify({ path: '/b' })]);
    expect(result.totals).toMatchObject({ connects: 1, acquired: 2, reused: 1 });
    expect(upstream.sockets.length - socketsBefore).toBe(1);
    expect(result.invalid).toEqual({ isInvalidOptionError: true, code: 'ERR_INVALID_OPTION' });
    expect(result.sameClassFromImport).toBe(true);
    const installed = join(dir, 'node_modules', 'reactive-connection-pool');
    expect(result.entries).toEqual([join(installed, 'dist/nest/index.cjs'), join(installed, 'dist/opentelemetry/index.cjs'), join(installed, 'package.json')]);
  }, 300_000);

  it('an ES module TypeScript project (nodenext, and bundler) fetches through pool.dispatcher() and node:http through its agent', async () => {
    const dir = await installConsumer('esm-ts', tarball);
    copyIntoProject(dir, ['main.ts', 'tsconfig.json', 'tsconfig.bundler.json'].map((file) => ({ from: `esm-ts/${file}`, to: file })));
    await tsc(dir, 'tsconfig.bundler.json');
    await tsc(dir, 'tsconfig.json');
    const socketsBefore = upstream.sockets.length;
    const result = resultOf((await run(process.execPath, ['dist/main.js'], { cwd: dir, env: env() })).stdout);
    expect(result.fetched).toEqual([{ path: '/x' }, { path: '/y' }]);
    expect(result.viaAgent).toBe(JSON.stringify({ path: '/z' }));
    // fetch reused its connection; closing the dispatcher closed it, so the agent made its own.
    expect(result.afterFetch).toMatchObject({ connects: 1, acquired: 2, reused: 1 });
    expect(result.totals).toMatchObject({ connects: 2, acquired: 3 });
    expect(result.acquired).toBe(3);
    expect(upstream.sockets.length - socketsBefore).toBe(2);
  }, 300_000);

  it('a Nest application without @nestjs/terminus or prom-client imports /nest and uses the module; the health indicator and the metrics name the package they need', async () => {
    const dir = await installConsumer('nest-peerless', tarball);
    copyIntoProject(dir, [{ from: 'nest-peerless/main.mjs', to: 'main.mjs' }]);
    const result = resultOf((await run(process.execPath, ['main.mjs'], { cwd: dir, env: env() })).stdout);
    expect(result.bodies).toEqual([JSON.stringify({ path: '/p' }), JSON.stringify({ path: '/q' })]);
    expect(result.totals).toMatchObject({ connects: 1, reused: 1 });
    expect(result.requiredNestModule).toBe('function');
    expect(result.metricsError).toEqual({
      name: 'MissingPeerDependencyError',
      code: 'ERR_MISSING_PEER_DEPENDENCY',
      isMissingPeer: true,
      message: expect.stringMatching(/^ConnectionPoolMetrics \(Prometheus metrics\) needs the package "prom-client", which is not installed\. Install it: npm install prom-client/),
    });
    expect(result.healthError).toMatchObject({
      code: 'ERR_MISSING_PEER_DEPENDENCY',
      isMissingPeer: true,
      message: expect.stringMatching(/^ConnectionPoolHealthIndicator needs the package "@nestjs\/terminus".*npm install @nestjs\/terminus/),
    });
  }, 300_000);

  it('has types that resolve in every TypeScript mode for every entry point (@arethetypeswrong/cli finds no problem)', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--format', 'json', '--no-definitely-typed'], {
      cwd: ROOT,
      allowFailure: true,
    });
    const { analysis } = JSON.parse(stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
    expect(Object.keys(analysis.entrypoints)).toEqual(expect.arrayContaining(['.', './nest', './opentelemetry']));
    expect(analysis.problems).toEqual([]);
  }, 120_000);
});
