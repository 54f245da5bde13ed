import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * What `npm pack` would publish: the library's compiled code, its CommonJS entry points,
 * types for both, source maps with their sources, the README and the license, nothing else
 * (no sources, tests, service or benches), and no compiled file whose source is gone. Reads
 * the `dist/` that `npm test` builds just before the tests run. (test/consumers installs the
 * tarball into real projects; this checks its shape.)
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  typesVersions: Record<string, Record<string, string[]>>;
  main: string;
  types: string;
  repository: { url: string };
  homepage: string;
  bugs: { url: string };
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

interface Conditions {
  readonly import: { readonly types: string; readonly default: string };
  readonly require: { readonly types: string; readonly default: string };
}

const entryPoints = Object.entries(pkg.exports).filter(([subpath]) => subpath !== './package.json') as Array<[string, Conditions]>;

function packedFiles(): string[] {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [pack] = JSON.parse(output) as Array<{ files: Array<{ path: string }> }>;
  return (pack?.files ?? []).map((file) => file.path);
}

describe('package.json', () => {
  it('gives every entry point an ESM face and a CommonJS face, each with its types, and node10 a types path (docs/packaging.md)', () => {
    expect(entryPoints.map(([subpath]) => subpath)).toEqual(expect.arrayContaining(['.', './nest']));
    for (const [subpath, conditions] of entryPoints) {
      const base = subpath === '.' ? './dist/index' : `./dist/${subpath.slice(2)}/index`;
      expect(conditions, `exports["${subpath}"]`).toEqual({
        import: { types: `${base}.d.ts`, default: `${base}.js` },
        require: { types: `${base}.d.cts`, default: `${base}.cjs` },
      });
      if (subpath === '.') {
        expect({ main: pkg.main, types: pkg.types }).toEqual({ main: `${base}.cjs`, types: `${base}.d.cts` });
      } else {
        // TypeScript's node10 resolution ignores "exports": it finds a subpath's types here.
        expect(pkg.typesVersions['*']?.[subpath.slice(2)], `typesVersions["*"]["${subpath.slice(2)}"]`).toEqual([`${base}.d.cts`]);
      }
    }
  });

  it('says where the project lives, so that the registry page links work', () => {
    expect(pkg.repository.url).toMatch(/^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/);
    const home = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    expect(pkg.homepage).toBe(`${home}#readme`);
    expect(pkg.bugs.url).toBe(`${home}/issues`);
  });

  it('accepts Nest 11 and 12 and terminus 11 and 12, every peer optional', () => {
    for (const peer of ['@nestjs/common', '@nestjs/core', '@nestjs/terminus']) {
      expect(pkg.peerDependencies[peer], peer).toBe('^11.0.0 || ^12.0.0');
    }
    expect(pkg.peerDependencies['prom-client']).toBe('^15.0.0');
    for (const peer of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[peer]?.optional, peer).toBe(true);
  });
});

describe('the published package', () => {
  const files = existsSync(join(root, 'dist', 'index.js')) ? packedFiles() : [];

  it('holds dist (code, CommonJS entries, types, maps), README, LICENSE and package.json only, each compiled file from a source that exists', () => {
    expect(files.length, 'dist/ is built (npm test builds it first)').toBeGreaterThan(0);
    const entryFiles = entryPoints.flatMap(([, c]) => [c.import.types, c.import.default, c.require.types, c.require.default]).map((f) => f.slice(2));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', ...entryFiles]));
    const outside = files.filter((file) => !['package.json', 'README.md', 'LICENSE'].includes(file) && !file.startsWith('dist/'));
    expect(outside).toEqual([]);
    expect(files.filter((file) => file.startsWith('dist/app/') || file.startsWith('dist/main.'))).toEqual([]);
    const sourceOf = (file: string): string => join(root, 'src', file.slice('dist/'.length).replace(/(\.d)?\.(c?js|c?ts)(\.map)?$/, '.ts'));
    const stale = files.filter((file) => file.startsWith('dist/') && !existsSync(sourceOf(file)));
    expect(stale).toEqual([]);
    // The only CommonJS JavaScript is the entry points' (the code itself is ESM, loaded once).
    expect(files.filter((file) => file.endsWith('.cjs')).sort()).toEqual(entryPoints.map(([, c]) => c.require.default.slice(2)).sort());
  }, 30_000);

  it('ships each source map its code points to, with the sources inside it', () => {
    const referenced = files
      .filter((file) => /\.c?js$/.test(file))
      .map((file) => ({ file, map: /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(root, file), 'utf8'))?.[1] }))
      .filter((entry): entry is { file: string; map: string } => entry.map !== undefined);
    expect(referenced.length).toBeGreaterThan(50);
    for (const { file, map } of referenced) {
      const mapFile = join(dirname(file), map);
      expect(files, `${file} points to ${map}`).toContain(mapFile);
      const sourceMap = JSON.parse(readFileSync(join(root, mapFile), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      expect(sourceMap.sourcesContent?.length, mapFile).toBe(sourceMap.sources.length);
      expect(sourceMap.sourcesContent?.every((content) => typeof content === 'string' && content.length > 0), mapFile).toBe(true);
    }
  });

  it('never points anyone at files outside the project (the design lives in docs/architecture.md)', () => {
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter((file) => /\.(md|ts|js|mjs|json|ya?ml|sh)$/.test(file));
    const outside = ['..', 'shared'].join('/'); // spelt in two parts, so that this file does not match itself
    const pointing = tracked.filter((file) => existsSync(join(root, file)) && readFileSync(join(root, file), 'utf8').includes(outside));
    expect(pointing).toEqual([]);
  });
});
