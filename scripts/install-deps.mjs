// Installs the locked dependencies, reproducibly, with `npm ci`, when node_modules is missing or
// was installed from another package.json / package-lock.json; otherwise does nothing. Run by
// `npm test`, `npm start` and `npm run test:node24` (`node scripts/install-deps.mjs`).
//
// `npm ci` deletes node_modules and installs everything again (about half a minute here), so
// running it on every `npm test` would make repeated runs slow; the stamp it leaves in
// node_modules (a hash of the two files) says whether the install there is the locked one.
// Set FORCE_NPM_CI=1 to run it anyway.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'node_modules', '.install-stamp');

const hash = createHash('sha256');
for (const file of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(root, file)));
const wanted = hash.digest('hex');

if (process.env.FORCE_NPM_CI !== '1' && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === wanted) {
  console.log('install-deps: node_modules is the locked install already (npm ci skipped)');
} else {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('install-deps: npm ci failed. If package.json changed, run `npm install` and commit package-lock.json with it.');
    process.exit(result.status ?? 1);
  }
  writeFileSync(stampFile, `${wanted}\n`);
}
