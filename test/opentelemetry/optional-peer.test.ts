import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `@opentelemetry/api` is an optional peer: only `reactive-connection-pool/opentelemetry`
 * imports it. Checked on the built package (`npm test` builds dist/ first) in a Node process
 * where that package cannot be found, as in an application that never installed it.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// A resolve hook that makes every @opentelemetry/* package missing.
const hideOpenTelemetry = `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@opentelemetry/')) {
    throw Object.assign(new Error("Cannot find package '" + specifier + "' (hidden by the test)"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}`)}`;

/** Imports each entry in a fresh process without @opentelemetry/*: what each one did. */
function importWithoutOpenTelemetry(entries: readonly string[]): Record<string, string> {
  const script = `
import { register } from 'node:module';
register(${JSON.stringify(hideOpenTelemetry)});
const results = {};
for (const entry of ${JSON.stringify(entries.map((entry) => pathToFileURL(join(root, 'dist', entry)).href))}) {
  try { await import(entry); results[entry] = 'loaded'; } catch (error) { results[entry] = error.code + ': ' + error.message; }
}
console.log(JSON.stringify(results));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  const results = JSON.parse(output) as Record<string, string>;
  return Object.fromEntries(Object.entries(results).map(([url, result]) => [url.slice(url.indexOf('/dist/') + '/dist/'.length), result]));
}

describe('@opentelemetry/api, an optional peer', () => {
  it('is needed by reactive-connection-pool/opentelemetry only: the main entry and /nest load without it', () => {
    expect(existsSync(join(root, 'dist', 'opentelemetry', 'index.js')), 'dist/ is built (npm test builds it first)').toBe(true);
    const results = importWithoutOpenTelemetry(['index.js', 'nest/index.js', 'opentelemetry/index.js']);
    expect(results['index.js']).toBe('loaded');
    expect(results['nest/index.js']).toBe('loaded');
    expect(results['opentelemetry/index.js']).toMatch(/^ERR_MODULE_NOT_FOUND: Cannot find package '@opentelemetry\/api'/);
  }, 30_000);
});
