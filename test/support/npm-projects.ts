import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where installs made by tests are kept between runs, keyed by what went into them: a folder
 * of the system's temporary directory, one per checkout. Never inside the repository, whose
 * node_modules Node would find from an install there (a missing package would go unnoticed).
 */
export const INSTALL_CACHE = process.env.RCP_INSTALL_CACHE ?? join(tmpdir(), 'reactive-connection-pool-tests', hashOf(ROOT));

/** A short hash of `parts`, for cache keys. */
export function hashOf(...parts: Array<string | Buffer>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (no shell), collecting its output. Rejects when it exits non-zero. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const result = { code, signal, stdout, stderr };
      if (code === 0 || options.allowFailure === true) resolve(result);
      else reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited ${code ?? signal}:\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`));
    });
  });
}

/** npm, with its cache used first (`--prefer-offline`): packages installed before come from the machine's npm cache. */
export function npm(args: readonly string[], cwd: string): Promise<RunResult> {
  return run('npm', args, { cwd, env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
}

/**
 * A folder `name-<key>` under {@link INSTALL_CACHE} where `install` has run once: made by
 * `prepare` (writes the manifest) and `install` the first time, taken as it is while the key
 * (a hash of every input) is the same.
 */
export async function cachedInstall(name: string, key: string, prepare: (dir: string) => void, install: (dir: string) => Promise<unknown>): Promise<string> {
  const dir = join(INSTALL_CACHE, `${name}-${key}`);
  assertNoNodeModulesAbove(dir);
  const complete = join(dir, '.install-complete');
  if (existsSync(complete)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  prepare(dir);
  await install(dir);
  writeFileSync(complete, `${new Date().toISOString()}\n`);
  return dir;
}

/** Node looks for packages in every node_modules above a folder: an install must have none there. */
function assertNoNodeModulesAbove(dir: string): void {
  for (let parent = dirname(dir); parent !== dirname(parent); parent = dirname(parent)) {
    if (existsSync(join(parent, 'node_modules'))) throw new Error(`${join(parent, 'node_modules')} would be seen by the install in ${dir}: set RCP_INSTALL_CACHE elsewhere`);
  }
}

/** The apparent size of a folder's files, in bytes (links not followed). */
export function folderSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderSize(path);
    else total += lstatSync(path).size;
  }
  return total;
}

/**
 * Waits for a line of the child's standard output that matches `pattern`, and returns the
 * match. Rejects if the child exits first, with what it printed.
 */
export function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer | string): void => {
      seen += String(chunk);
      const match = pattern.exec(seen);
      if (match) {
        cleanup();
        resolve(match);
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`exited (${code}) before printing ${pattern}:\n${seen}`));
    };
    const cleanup = (): void => {
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}
