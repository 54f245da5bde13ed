import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILDS = join(ROOT, 'test-artifacts', 'service-build');

/** Every file that shapes the build output: the sources, the compiler settings, the copy step. */
function buildInputs(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(ROOT, 'src'));
  return [...files, join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json'), join(ROOT, 'scripts', 'copy-assets.mjs'), join(ROOT, 'package.json')];
}

/**
 * The service built as `npm run build` builds it (tsc with tsconfig.build.json, then the asset
 * copy of scripts/copy-assets.mjs), into a directory named by a digest of its inputs, and the
 * path of its `main.js`. Tests of the process as `npm start` runs it use this rather than
 * `dist/`, which may be stale when the tests run on their own.
 */
export async function builtServiceEntry(): Promise<string> {
  const digest = createHash('sha256');
  for (const file of buildInputs()) digest.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  const dir = join(BUILDS, digest.digest('hex').slice(0, 16));
  const entry = join(dir, 'main.js');
  if (existsSync(entry)) return entry;

  mkdirSync(BUILDS, { recursive: true });
  const staging = `${dir}.staging-${process.pid}-${Date.now()}`;
  let output = '';
  try {
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', staging, '--declaration', 'false', '--sourceMap', 'false'], { cwd: ROOT });
  } catch (error) {
    // Type errors still emit (the typecheck step reports them); a missing output is fatal.
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  if (!existsSync(join(staging, 'main.js'))) throw new Error(`Building the service failed:\n${output}`);
  await run(process.execPath, [join(ROOT, 'scripts/copy-assets.mjs'), staging], { cwd: ROOT });
  try {
    renameSync(staging, dir);
  } catch {
    // Another test file built the same inputs first: theirs is as good.
    rmSync(staging, { recursive: true, force: true });
  }
  // Builds of older sources are of no further use.
  for (const name of readdirSync(BUILDS)) {
    if (join(BUILDS, name) !== dir && !name.includes('.staging-')) rmSync(join(BUILDS, name), { recursive: true, force: true });
  }
  return entry;
}
