// Bench 3, cold: evicting 10k expired of 100k idle connections in one
// `while (pool.cleanup(now) === 0)` pass, in a fresh Node process right after the pool was
// filled: no warm-up round, so the eviction path runs with whatever the JIT made of it while
// the pool was filled (what a user's process gets). bench/engine-cleanup.js measures the same
// loop warm (its rounds reuse one process).
//
// Each measurement is its own process (started one after the other, never two at once); the
// parent reports the median of them.
//
//   npm run build && node bench/engine-evict-cold.js [--rounds 5] [--settle]
//
// By default the loop is timed straight after the pool is filled, as the issue asks (what a
// user's process gets: whatever the fill left to the garbage collector is still there).
// --settle: first take the gc() and 1 s pause that the other engine benches take before a
// timed loop (it keeps V8's background sweeper off the clock; see gcAndSettle in
// bench/lib/stats.js).

import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EVICTION, evictionScene } from './lib/fill.js';
import { FakeTransport, formatNs, gcAndSettle, max, median, min, nowNs, printTable, reportTargets, roundsFromArgs, runMain } from './lib/stats.js';

const { total: TOTAL, expired: EXPIRED } = EVICTION;
const TARGET_NS = 100e6;

/** The child side: one cold pass, its time on stdout as `#cold <ns>`. */
async function child(settle) {
  const { pool, now } = await evictionScene();
  if (settle) await gcAndSettle();
  const closedBefore = FakeTransport.closed;
  let evicted = 0;
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  while (pool.cleanup(now) === 0) evicted++;
  const elapsed = nowNs() - t0;
  const cpu = process.cpuUsage(cpu0);
  const closed = FakeTransport.closed - closedBefore;
  const next = pool.cleanup(now);
  if (evicted !== EXPIRED || closed !== EXPIRED || pool.connectionCount() !== TOTAL - EXPIRED || next !== 500) {
    throw new Error(`eviction went wrong: evicted ${evicted}, closed ${closed}, left ${pool.connectionCount()}, next pass in ${next} ms`);
  }
  // CPU time of the process over the loop (GC threads included): less sensitive than wall
  // time to other processes taking the CPU away, which is what this shared machine does.
  console.log(`#cold ${elapsed} ${(cpu.user + cpu.system) * 1000}`);
  await pool.close();
}

function runChild(settle) {
  return new Promise((resolve, reject) => {
    const args = [...(settle ? ['--expose-gc'] : []), fileURLToPath(import.meta.url), '--child', ...(settle ? ['--settle'] : [])];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('#cold '));
      if (code !== 0 || line === undefined) reject(new Error(`a cold eviction process exited with code ${code}: ${out}`));
      else {
        const [wall, cpu] = line.slice('#cold '.length).split(' ').map(Number);
        resolve({ wall, cpu });
      }
    });
  });
}

export async function main() {
  const rounds = roundsFromArgs(5);
  const settle = process.argv.includes('--settle');
  console.log(
    `cold eviction: ${EXPIRED} of ${TOTAL} idle connections, one fresh process per measurement, ${rounds} processes${settle ? ', after a gc() and a 1 s pause' : ', timed right after the fill'}`,
  );
  const runs = [];
  for (let i = 0; i < rounds; i++) runs.push(await runChild(settle));
  const samples = runs.map((r) => r.wall);
  const cpus = runs.map((r) => r.cpu);
  const m = median(samples);
  printTable(
    `evicting ${EXPIRED.toLocaleString('en-US')} expired of ${TOTAL.toLocaleString('en-US')}, cold (median of ${rounds} processes)`,
    ['what', 'median', 'min – max', 'per eviction', 'each process'],
    [
      ['while (pool.cleanup(now) === 0) {}, wall time', formatNs(m), `${formatNs(min(samples))} – ${formatNs(max(samples))}`, formatNs(m / EXPIRED), samples.map((s) => formatNs(s)).join(', ')],
      ['the same, process CPU time (all threads)', formatNs(median(cpus)), `${formatNs(min(cpus))} – ${formatNs(max(cpus))}`, formatNs(median(cpus) / EXPIRED), cpus.map((s) => formatNs(s)).join(', ')],
    ],
  );
  reportTargets('evict-cold', [{ name: 'evict 10k expired of 100k, cold (fresh process): < 100 ms', measured: formatNs(m), met: m < TARGET_NS }]);
  return { samples, cpus };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--child')) {
    child(process.argv.includes('--settle')).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    runMain(main);
  }
}
