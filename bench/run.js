// Runs every benchmark, each in its own Node process (a fresh heap and fresh JIT state, so
// that one bench's garbage and compiled code do not weigh on the next), then prints a
// summary of the targets.
//
//   npm run bench                          # = npm run build && node --expose-gc bench/run.js
//   node --expose-gc bench/run.js --rounds 3 --only acquire,heap   # default: each bench's own
//   node --expose-gc bench/run.js --strict # exit 1 if a target is missed

import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { printTable, roundsFromArgs } from './lib/stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));

const BENCHES = {
  acquire: 'engine-acquire.js',
  cleanup: 'engine-cleanup.js',
  'evict-cold': 'engine-evict-cold.js',
  heap: 'engine-heap.js',
  'http-agent': 'http-agent.js',
  'http-heap': 'http-heap.js',
  observability: 'observability-overhead.js',
  'diagnostics-channel': 'diagnostics-channel.js',
};

function option(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {
    // not Linux: fall back to what os.cpus() says
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** The commit measured, and whether the engine's sources differ from it (dist/ is built from them). */
function engineVersion() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: join(HERE, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'src/pool').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty > 0 ? ` + ${dirty} uncommitted file(s) in src/pool` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function formatLoad() {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
}

/** Runs one bench script; echoes its output and collects its `#result` lines. */
function runBench(file, rounds) {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', join(HERE, file), ...(rounds === undefined ? [] : ['--rounds', String(rounds)])];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_REPORT: '1' },
    });
    const results = [];
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('#result ')) results.push(JSON.parse(line.slice('#result '.length)));
        else console.log(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (buffered) console.log(buffered);
      if (code !== 0) reject(new Error(`${file} exited with code ${code}`));
      else resolve(results);
    });
  });
}

async function main() {
  // Each bench has its own default number of rounds; --rounds N sets them all.
  const rounds = process.argv.includes('--rounds') || process.env.BENCH_ROUNDS ? roundsFromArgs() : undefined;
  const only = option('--only')?.split(',') ?? Object.keys(BENCHES);
  for (const name of only) if (!(name in BENCHES)) throw new Error(`unknown bench "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);

  console.log('reactive-connection-pool: benchmarks against the peers');
  console.log(`date      ${new Date().toISOString()}`);
  console.log(`node      ${process.version} (${process.arch}), v8 ${process.versions.v8}`);
  console.log(`machine   ${cpus().length} CPUs, ${cpuModel()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
  console.log(`command   node ${process.execArgv.join(' ')} bench/run.js ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`engine    ${engineVersion()}`);
  console.log(`rounds    ${rounds ?? 'each bench\'s default'} per measurement (medians reported)`);
  // A shared machine: other processes running at the same time show up here and in min – max.
  console.log(`load      ${formatLoad()} (1, 5, 15 min) at start`);

  const started = performance.now();
  const targets = [];
  for (const name of only) {
    console.log(`\n=== ${name} (bench/${BENCHES[name]}) ===`);
    for (const result of await runBench(BENCHES[name], rounds)) targets.push(...result.targets);
  }

  printTable(
    `summary (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    ['target', 'measured', 'met'],
    targets.map((t) => [t.name, t.measured, t.met ? 'yes' : 'NO']),
  );
  console.log(`\nload      ${formatLoad()} (1, 5, 15 min) at end`);
  const missed = targets.filter((t) => !t.met).length;
  if (missed > 0) console.log(`\n${missed} target(s) missed.`);
  if (missed > 0 && process.argv.includes('--strict')) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
