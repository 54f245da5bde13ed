import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { INSTALL_CACHE, ROOT, cachedInstall, hashOf, npm, run } from '../../support/npm-projects.js';

// Consumer projects: each fixture under test/consumers/fixtures is a project of its own, its
// package.json depending on the package by its `npm pack` tarball, installed into a folder of
// its own with npm, as a user's project installs it. An install is kept (INSTALL_CACHE) while
// the project's package.json and the tarball are the same; a new tarball starts from the last
// install of the same package.json, so that npm only swaps the package.

export const FIXTURES = join(ROOT, 'test', 'consumers', 'fixtures');

/** Packs the built package (dist/ as `npm test` built it) and returns the tarball's path. */
export async function packTarball(): Promise<string> {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is not built: npm test builds it before the tests');
  const destination = join(INSTALL_CACHE, 'tarballs', `${process.pid}-${Date.now()}`);
  mkdirSync(destination, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: ROOT });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  return join(destination, (packed as { filename: string }).filename);
}

/** Deletes a tarball {@link packTarball} made (and its folder). */
export function removeTarball(tarball: string | undefined): void {
  if (tarball !== undefined) rmSync(dirname(tarball), { recursive: true, force: true });
}

/** The newest finished install of `name` whose package.json hash is `manifestHash`, if any. */
function previousInstall(name: string, manifestHash: string): string | undefined {
  if (!existsSync(INSTALL_CACHE)) return undefined;
  return readdirSync(INSTALL_CACHE)
    .filter((entry) => entry.startsWith(`${name}-${manifestHash}-`) && existsSync(join(INSTALL_CACHE, entry, '.install-complete')))
    .map((entry) => join(INSTALL_CACHE, entry))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

/**
 * The fixture `name` installed with the tarball: a folder with its package.json, the tarball
 * as `reactive-connection-pool.tgz`, and node_modules. The caller copies its sources in.
 */
export async function installConsumer(name: string, tarball: string): Promise<string> {
  const manifest = readFileSync(join(FIXTURES, name, 'package.json'));
  const manifestHash = hashOf(manifest);
  const packed = readFileSync(tarball);
  const dir = await cachedInstall(
    name,
    `${manifestHash}-${hashOf(packed)}`,
    (target) => {
      const previous = previousInstall(name, manifestHash);
      if (previous !== undefined) {
        // Start from the last install: npm then replaces the package and keeps the rest.
        cpSync(join(previous, 'node_modules'), join(target, 'node_modules'), { recursive: true, verbatimSymlinks: true });
        cpSync(join(previous, 'package-lock.json'), join(target, 'package-lock.json'));
        rmSync(previous, { recursive: true, force: true });
      }
      writeFileSync(join(target, 'package.json'), manifest);
      writeFileSync(join(target, 'reactive-connection-pool.tgz'), packed);
    },
    (target) => npm(['install'], target),
  );
  return dir;
}

/** Copies files or folders of the fixtures into `dir` (fresh each run: they are the code under test). */
export function copyIntoProject(dir: string, entries: ReadonlyArray<{ from: string; to: string }>): void {
  for (const { from, to } of entries) {
    rmSync(join(dir, to), { recursive: true, force: true });
    cpSync(join(FIXTURES, from), join(dir, to), { recursive: true });
  }
}

/** The JSON a consumer prints on its `RESULT ` line. */
export function resultOf(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`no RESULT line in the consumer's output:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
}
