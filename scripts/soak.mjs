// `npm run soak`: the chaos soak of test/chaos/soak.test.ts at full size (200 000 cleartext
// requests and 40 000 over TLS per client, 64 at a time, faults throughout) instead of the
// bounded run the default test suite makes. Its numbers are written to
// test-artifacts/chaos/soak-long.md (and .json), for bench/RESULTS.md.
//
//   npm run soak
//   CHAOS_REQUESTS=500000 CHAOS_SEED=7 npm run soak   # sizes and seed can be set
//   CHAOS_DISPATCHER=0 npm run soak                   # the PooledAgent alone (no pool.dispatcher(), no HTTP/2)
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const started = Date.now();
const child = spawn(process.execPath, [vitest, 'run', 'test/chaos/soak.test.ts', ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, SOAK: '1' },
  stdio: 'inherit',
});
child.on('exit', (code, signal) => {
  console.log(`soak: ${signal ?? `exit ${code}`} after ${Math.round((Date.now() - started) / 1000)} s; results in test-artifacts/chaos/soak-long.md`);
  process.exit(code ?? 1);
});
