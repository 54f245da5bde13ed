import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES } from '../../src/app/config/env-variables.js';
import { GATEWAY_GLIBC_TUNABLES } from '../../src/app/v8-tuning.js';
import { containersOf, kustomizeBuild } from './support/kustomize.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions by stage (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Array<{ name: string | undefined; from: string; instructions: Instruction[] }> {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Array<{ name: string | undefined; from: string; instructions: Instruction[] }> = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? '', name: match?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const build = dockerfile.find((stage) => stage.name === 'build');
const runtime = dockerfile.at(-1);
const pkg = JSON.parse(read('package.json')) as { name: string; version: string; scripts: { build: string; start: string } };
/** A RUN instruction's command without its BuildKit `--mount=...` flags. */
const withoutMounts = (args: string): string => args.replace(/^(--mount=\S+\s+)+/, '');
const runtimeArgs = (keyword: string): string[] => (runtime?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args);

describe('the Dockerfile (checked statically: no Docker engine here)', () => {
  it('has a build stage and a separate runtime stage from the same base', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(runtime?.name).toBe('runtime');
    expect(runtime?.from).toBe(build?.from);
  });

  it('installs the locked dependencies with npm ci and builds as `npm run build` does, with every file that needs', () => {
    const runs = build?.instructions.filter((i) => i.keyword === 'RUN').map((i) => withoutMounts(i.args)) ?? [];
    expect(runs).toContain('npm ci --no-audit --no-fund');
    expect(runs.filter((run) => /\bnpm (install|i)\b/.test(run))).toEqual([]);
    expect(runs).toContain('npm run build');
    expect(runs).toContain('node scripts/runtime-manifest.mjs /runtime');
    const copied = build?.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1)) ?? [];
    // Every local file the build script runs, and the compiler's inputs, reach the stage.
    const scriptFiles = [...pkg.scripts.build.matchAll(/node (\S+)/g)].map((m) => m[1] as string);
    expect(scriptFiles.length).toBeGreaterThan(0);
    for (const file of [...scriptFiles, 'scripts/runtime-manifest.mjs', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'package-lock.json']) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
      expect(copied.some((source) => file === source || file.startsWith(`${source.replace(/^\.\//, '')}/`)), `${file} is copied`).toBe(true);
    }
  });

  it('installs the run-time packages in the runtime stage from their own manifest and lock, not the build\'s node_modules', () => {
    expect(runtimeArgs('COPY')).toContain('--from=build /runtime/package.json /runtime/package-lock.json ./');
    expect(runtimeArgs('COPY').filter((args) => args.includes('node_modules'))).toEqual([]);
    expect(runtimeArgs('RUN').map(withoutMounts)).toEqual(['npm ci --omit=dev --no-audit --no-fund']);
  });

  it('runs the build output as npm start does, with node as PID 1 (not npm), as a numeric non-root user', () => {
    expect(runtimeArgs('CMD')).toEqual(['["node", "dist/main.js"]']);
    expect(pkg.scripts.start).toMatch(/&& (GLIBC_TUNABLES=\S+ )?node dist\/main\.js$/);
    // tsconfig.build.json compiles src/ into dist/, so src/main.ts becomes dist/main.js.
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(runtimeArgs('COPY')).toContain('--from=build /app/dist ./dist');

    const [user] = runtimeArgs('USER');
    expect(user).toMatch(/^\d+(:\d+)?$/);
    const uid = Number(user?.split(':')[0]);
    expect(uid).toBeGreaterThan(0);
    const [deployment] = kustomizeBuild(join(ROOT, 'k8s/base')).filter((o) => o.kind === 'Deployment');
    const podSecurity = (deployment?.spec as { template: { spec: { securityContext: { runAsUser: number } } } }).template.spec.securityContext;
    expect(podSecurity.runAsUser).toBe(uid);
  });

  it('starts the gateway with its C library settings (GLIBC_TUNABLES), as npm start does', () => {
    const env = runtimeArgs('ENV').join(' ');
    expect(env).toContain(`GLIBC_TUNABLES=${GATEWAY_GLIBC_TUNABLES}`);
    // npm start keeps a GLIBC_TUNABLES of the caller's, else sets the same.
    expect(pkg.scripts.start).toContain(`GLIBC_TUNABLES=\${GLIBC_TUNABLES:-${GATEWAY_GLIBC_TUNABLES}} node dist/main.js`);
  });

  it('listens beyond loopback on the port the manifests expose, and names the version the manifests deploy', () => {
    const env = runtimeArgs('ENV').join(' ');
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/);
    expect(env).toMatch(/\bPORT=3000\b/);
    expect(ENV_VARIABLES.HOST.parse('0.0.0.0')).toBe('0.0.0.0');
    expect(runtimeArgs('EXPOSE')).toEqual(['3000']);
    const base = kustomizeBuild(join(ROOT, 'k8s/base'));
    const [container] = containersOf(base);
    expect((container?.ports as Array<{ containerPort: number }>)[0]?.containerPort).toBe(3000);
    expect(container?.image).toBe(`${pkg.name}:${pkg.version}`);
    expect(runtimeArgs('LABEL').join(' ')).toContain(`org.opencontainers.image.version="${pkg.version}"`);
  });

  it('keeps local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', '.git', 'test-artifacts', '.env']) expect(ignored).toContain(entry);
    // What the build stage copies is not ignored.
    for (const entry of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) expect(ignored).not.toContain(entry);
  });
});
