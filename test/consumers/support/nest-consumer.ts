import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { run } from '../../support/npm-projects.js';
import type { HttpTestServer } from '../../support/http-servers.js';
import { copyIntoProject, installConsumer, resultOf } from './consumer-project.js';

/**
 * Installs the Nest consumer `name` (its package.json and tsconfig.json, the shared
 * application of fixtures/nest-app), compiles it with its own TypeScript, runs it against
 * `upstream`, and checks what it printed: the module made the pool from ConfigService's
 * strings, HttpModule reached the upstream over one pooled connection (reused once), the
 * health indicator and the metrics answered.
 */
export async function runNestConsumer(name: string, tarball: string, upstream: HttpTestServer): Promise<void> {
  const dir = await installConsumer(name, tarball);
  copyIntoProject(dir, [
    { from: 'nest-app', to: 'src' },
    { from: `${name}/tsconfig.json`, to: 'tsconfig.json' },
  ]);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  rmSync(join(dir, 'tsconfig.tsbuildinfo'), { force: true });
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: dir });

  const socketsBefore = upstream.sockets.length;
  const { stdout } = await run(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH, UPSTREAM: upstream.origin, POOL_MAX_CONNECTIONS: '4', POOL_KEEP_ALIVE: '30000' },
  });
  const result = resultOf(stdout);
  expect(result.orders).toEqual([
    { status: 200, body: JSON.stringify({ path: '/orders' }) },
    { status: 200, body: JSON.stringify({ path: '/orders' }) },
  ]);
  expect(upstream.sockets.length - socketsBefore, 'connections the upstream accepted').toBe(1);
  expect(result.totals).toMatchObject({ connects: 1, acquired: 2, reused: 1 });
  expect(result.options).toEqual({ maxConnections: 4, keepAliveMs: 30_000 });
  expect(result.ready).toMatchObject({ status: 200, body: { status: 'ok', info: { pool: { status: 'up', pool: 'default' } } } });
  expect(result.live).toMatchObject({ status: 200, body: { status: 'ok', info: { pool: { status: 'up' } } } });
  expect(result.metrics).toEqual(
    expect.arrayContaining([
      'connection_pool_acquisitions_total{pool="default",reused="true"} 1',
      'connection_pool_acquisitions_total{pool="default",reused="false"} 1',
    ]),
  );
}
