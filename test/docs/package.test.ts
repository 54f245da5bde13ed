import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * What `npm pack` would publish: the library's compiled code and types, the README and the
 * license, nothing else (no sources, tests, service or benches), and no compiled file whose
 * source is gone. Reads the `dist/` that `npm test` builds just before the tests run.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface PackedFile {
  readonly path: string;
}

function packedFiles(): string[] {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [pack] = JSON.parse(output) as Array<{ files: PackedFile[] }>;
  return (pack?.files ?? []).map((file) => file.path);
}

describe('the published package', () => {
  it('holds dist (code and types), README, LICENSE and package.json only, each compiled file from a source that exists', () => {
    expect(existsSync(join(root, 'dist', 'index.js')), 'dist/ is built (npm test builds it first)').toBe(true);
    const files = packedFiles();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/nest/index.js', 'dist/nest/index.d.ts']));
    const outside = files.filter((file) => !['package.json', 'README.md', 'LICENSE'].includes(file) && !file.startsWith('dist/'));
    expect(outside).toEqual([]);
    expect(files.filter((file) => file.startsWith('dist/app/') || file.startsWith('dist/main.'))).toEqual([]);
    const stale = files
      .filter((file) => file.startsWith('dist/') && file.endsWith('.js'))
      .filter((file) => !existsSync(join(root, 'src', file.slice('dist/'.length).replace(/\.js$/, '.ts'))));
    expect(stale).toEqual([]);
  }, 30_000);
});
