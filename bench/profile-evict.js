// Profiles bench 3 (evicting 10k expired of 100k idle connections): CPU and allocations of
// the eviction loop alone, not of building the pool. Writes evict.cpuprofile (open it in
// Chrome DevTools) and prints the functions that cost, by self and inclusive share.
//
//   npm run build && node --expose-gc bench/profile-evict.js [--out dir] [--cold]
//
// bench/engine-cleanup.js splits the same loop's time between the pool's own work and the
// connection actors' EVICT transitions; this says which functions the time goes to.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { evictionScene } from './lib/fill.js';
import { formatNs, gc, gcAndSettle, nowNs } from './lib/stats.js';


function frameName(frame) {
  const file = frame.url.split('/').slice(-2).join('/');
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
}

/** Self and inclusive shares of a CPU profile, by function. */
function cpuShares(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const self = new Map();
  const inclusive = new Map();
  for (const [id, count] of hits) {
    const name = frameName(byId.get(id).callFrame);
    self.set(name, (self.get(name) ?? 0) + count);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      const n = frameName(byId.get(at).callFrame);
      if (!seen.has(n)) inclusive.set(n, (inclusive.get(n) ?? 0) + count);
      seen.add(n);
    }
  }
  return { self, inclusive, total: profile.samples.length };
}

/** Bytes allocated per function (self and inclusive), from a sampling heap profile. */
function allocShares(profile) {
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  const walk = (node, stack) => {
    const name = frameName(node.callFrame);
    const path = stack.includes(name) ? stack : [...stack, name];
    total += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    for (const n of path) inclusive.set(n, (inclusive.get(n) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, path);
  };
  walk(profile.head, []);
  return { self, inclusive, total };
}

function top(map, limit, format) {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, value]) => `  ${format(value).padStart(12)}  ${name}`)
    .join('\n');
}

/** Bench 3's pool, ready to evict; settled (gc and a pause) unless `cold`, as bench/engine-evict-cold.js times it. */
async function evictionPool(cold = false) {
  const scene = await evictionScene();
  if (!cold) await gcAndSettle();
  return scene;
}

async function main() {
  const i = process.argv.indexOf('--out');
  const out = i >= 0 ? process.argv[i + 1] : '.';
  const session = new Session();
  session.connect();

  // CPU: one unprofiled round to warm up, then the profiled one; --cold profiles the first
  // round of a fresh process instead (what bench/engine-evict-cold.js times).
  const cold = process.argv.includes('--cold');
  const profiled = cold ? 0 : 1;
  for (let round = 0; round <= profiled; round++) {
    const { pool, now } = await evictionPool(cold);
    if (round === profiled) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    const t0 = nowNs();
    while (pool.cleanup(now) === 0);
    const elapsed = nowNs() - t0;
    if (round === profiled) {
      const { profile } = await session.post('Profiler.stop');
      const file = join(out, 'evict.cpuprofile');
      writeFileSync(file, JSON.stringify(profile));
      const { self, inclusive, total } = cpuShares(profile);
      const pct = (count) => `${((100 * count) / total).toFixed(1)}%`;
      console.log(`eviction loop: ${formatNs(elapsed)} (${total} samples; profile written to ${file})`);
      console.log(`\nCPU, self:\n${top(self, 20, pct)}`);
      console.log(`\nCPU, inclusive:\n${top(inclusive, 25, pct)}`);
    }
    await pool.close();
    gc();
  }

  // Allocations of the same loop, garbage included.
  const { pool, now } = await evictionPool();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  let evicted = 0;
  while (pool.cleanup(now) === 0) evicted++;
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const { self, inclusive, total } = allocShares(profile);
  const perEviction = (bytes) => `${Math.round(bytes / evicted)} B`;
  console.log(`\nallocated per eviction: ${perEviction(total)} (sampled, ${evicted} evictions)`);
  console.log(`\nallocations per eviction, self:\n${top(self, 12, perEviction)}`);
  console.log(`\nallocations per eviction, inclusive:\n${top(inclusive, 12, perEviction)}`);
  await pool.close();
  session.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
