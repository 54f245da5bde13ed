import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cachedInstall, folderSize, hashOf, npm, run, waitForOutput } from '../support/npm-projects.js';

// The image's runtime stage, without Docker: its install command, run as the Dockerfile runs
// it (from the manifest scripts/runtime-manifest.mjs writes) into a folder, then the gateway
// started from that folder with the build output, as the image starts it.

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  gatewayRuntimeDependencies: string[];
};
const MAX_NODE_MODULES_BYTES = 60 * 1024 * 1024;
// What the runtime must never carry: a compiler, a test runner, a linter, a browser driver.
const DEVELOPMENT_TOOLS = ['typescript', 'vitest', 'vite', 'eslint', 'typescript-eslint', '@swc/core', 'unplugin-swc', 'playwright-core', 'supertest', '@nestjs/testing', 'fast-check'];

/** The runtime stage's RUN command (its BuildKit mounts left out), as words. */
function runtimeInstallCommand(): string[] {
  const stages = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split(/^FROM\s/m);
  const runtime = stages.at(-1) ?? '';
  const runs = [...runtime.matchAll(/^RUN\s+(.*)$/gm)].map((m) => (m[1] as string).replace(/^(--mount=\S+\s+)+/, '').trim());
  expect(runs).toHaveLength(1);
  expect(runs[0]).not.toMatch(/[&|;]/); // one command, run as it is here
  return (runs[0] as string).split(/\s+/);
}

let dir: string;
let manifestHash: string;

beforeAll(async () => {
  const manifests = join(ROOT, 'test-artifacts', 'runtime-manifest');
  rmSync(manifests, { recursive: true, force: true });
  await run(process.execPath, ['scripts/runtime-manifest.mjs', manifests], { cwd: ROOT });
  const manifest = readFileSync(join(manifests, 'package.json'));
  const lock = readFileSync(join(manifests, 'package-lock.json'));
  const [command, ...args] = runtimeInstallCommand();
  expect(command).toBe('npm');
  manifestHash = hashOf(manifest, lock, args.join(' '));
  dir = await cachedInstall(
    'runtime',
    manifestHash,
    (target) => {
      cpSync(join(manifests, 'package.json'), join(target, 'package.json'));
      cpSync(join(manifests, 'package-lock.json'), join(target, 'package-lock.json'));
    },
    (target) => npm(args, target),
  );
  // The build output, as the stage copies it (fresh each run: the key covers the install only).
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  expect(existsSync(join(ROOT, 'dist', 'main.js')), 'dist/ is built (npm test builds it first)').toBe(true);
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
}, 240_000);

afterAll(() => {
  if (dir !== undefined) rmSync(join(dir, 'dist'), { recursive: true, force: true });
});

describe('the image\'s run-time install (the runtime stage\'s command, run into a folder)', () => {
  it(`is at most 60 MB of node_modules, with no compiler, test runner, linter or browser driver`, () => {
    const size = folderSize(join(dir, 'node_modules'));
    console.log(`runtime node_modules: ${(size / 1024 / 1024).toFixed(1)} MB (limit 60 MB)`);
    expect(size).toBeLessThanOrEqual(MAX_NODE_MODULES_BYTES);
    const installed = readdirSync(join(dir, 'node_modules')).flatMap((name) =>
      name.startsWith('@') ? readdirSync(join(dir, 'node_modules', name)).map((sub) => `${name}/${sub}`) : [name],
    );
    for (const tool of DEVELOPMENT_TOOLS) expect(installed, tool).not.toContain(tool);
    expect(installed.filter((name) => name.startsWith('@typescript-eslint/') || name.startsWith('@vitest/') || name.startsWith('@types/'))).toEqual([]);
    for (const name of [...Object.keys(pkg.dependencies), ...pkg.gatewayRuntimeDependencies]) expect(installed, name).toContain(name);
  });

  it('runs the gateway: it starts, answers its probes and proxies to its upstream', async () => {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: dir,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const [, origin] = await waitForOutput(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect((await fetch(`${origin}/health/live`)).status).toBe(200);
      const proxied = await fetch(`${origin}/proxy/echo`);
      expect(proxied.status).toBe(200);
      await proxied.arrayBuffer();
      expect((await fetch(`${origin}/metrics`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 60_000);
});

/** What `file` imports at run time (`import type` is erased): relative paths and package names. */
function runtimeImportsOf(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?\sfrom\s+'([^']+)'/gm)].map((m) => m[1] as string),
    ...[...text.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1] as string),
    // Optional peers are loaded by name when used (src/nest/optional-peer.ts).
    ...[...text.matchAll(/loadOptionalPeer<[^>]*>\(\s*'([^']+)'/g)].map((m) => m[1] as string),
  ];
  return {
    files: specifiers.filter((s) => s.startsWith('.')).map((s) => join(dirname(file), s.replace(/\.js$/, '.ts'))),
    packages: specifiers
      .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] as string))),
  };
}

describe('"gatewayRuntimeDependencies" in package.json', () => {
  it('holds every package the gateway imports at run time (src/main.ts and every module it reaches), beside the library\'s dependencies', () => {
    // Loaded by name at run time rather than imported: NestFactory's default HTTP adapter.
    const loadedByName = ['@nestjs/platform-express'];
    const available = new Set([...Object.keys(pkg.dependencies), ...pkg.gatewayRuntimeDependencies]);
    const missing: string[] = [];
    const pending = [join(ROOT, 'src', 'main.ts')];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const imports = runtimeImportsOf(file);
      pending.push(...imports.files);
      for (const name of imports.packages) if (!available.has(name)) missing.push(`${name} (imported by ${relative(ROOT, file)})`);
    }
    expect(seen.size).toBeGreaterThan(50);
    for (const name of loadedByName) if (!available.has(name)) missing.push(`${name} (loaded by Nest)`);
    expect(missing, 'add these to "gatewayRuntimeDependencies" (and devDependencies)').toEqual([]);
    // Each one is declared with a version package-lock.json locks.
    for (const name of pkg.gatewayRuntimeDependencies) expect(pkg.devDependencies[name] ?? pkg.dependencies[name], name).toBeDefined();
  });
});
