// Bench 4: heap per pooled idle connection at 10k connections, beside what one XState actor
// costs by itself.
//
//   node --expose-gc bench/engine-heap.js [--rounds 5]
//
// Each measure: gc, heapUsed, make N things and keep them, gc, heapUsed, (after - before) / N.
// Every measure runs once unrecorded first, so that code compiled on first use is not counted.

import { pathToFileURL } from 'node:url';
import { createActor, createMachine, fromCallback } from 'xstate';
import { ConnectionPool, connectionMachine } from '../dist/index.js';
import {
  BENCH_URL,
  FakeTransport,
  fakeConnector,
  formatBytes,
  formatRatio,
  gc,
  heapUsed,
  max,
  median,
  min,
  printTable,
  reportTargets,
  roundsFromArgs,
  runMain,
} from './lib/stats.js';

const N = 10_000;
const TARGET_BYTES = 4.5 * 1024;

/**
 * Bytes per instance of what `make(n)` builds and keeps. `make` returns `{ keep, dispose }`:
 * `keep` is held across the second gc, then `dispose()` lets everything go.
 */
async function perInstance(make, n) {
  gc();
  const before = heapUsed();
  let made = await make(n);
  gc();
  const after = heapUsed();
  await made.dispose();
  made = null;
  return (after - before) / n;
}

/** The pool itself: made before the first reading, so only its connections are counted. */
async function pooledIdleConnections(n) {
  const pool = new ConnectionPool({ connector: fakeConnector, maxIdleConnections: n });
  // One use first: the address bucket, the resolver's cache entry and the cleanup loop exist.
  (await pool.acquire(BENCH_URL)).release();
  pool.evictAll();
  gc();
  const before = heapUsed();
  let pending = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = pool.acquire(BENCH_URL);
  let leases = await Promise.all(pending);
  pending = null;
  for (const lease of leases) lease.release();
  leases = null;
  gc();
  const after = heapUsed();
  const idle = pool.idleConnectionCount();
  const total = pool.connectionCount();
  await pool.close();
  if (idle !== n || total !== n) throw new Error(`expected ${n} idle connections, got ${idle} idle of ${total}`);
  return (after - before) / n;
}

/** Connection actors alone, children of one root as the pool makes them, connected (state idle). */
function connectionActors(n) {
  const root = createActor(fromCallback(() => undefined));
  root.start();
  const actors = new Array(n);
  for (let i = 0; i < n; i++) {
    const actor = createActor(connectionMachine, { parent: root, input: { id: `c${i}` } });
    actor.start();
    actor.send({ type: 'CONNECTED', transport: new FakeTransport() });
    actors[i] = actor;
  }
  return { keep: actors, dispose: () => root.stop() };
}

const tinyMachine = createMachine({ id: 'tiny', initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } });

/** Bare started actors of a two-state machine: each is a root with its own actor system. */
function bareActors(n) {
  const actors = new Array(n);
  for (let i = 0; i < n; i++) actors[i] = createActor(tinyMachine).start();
  return { keep: actors, dispose: () => actors.forEach((actor) => actor.stop()) };
}

/** The fake transport alone (counted inside a pooled connection too). */
function transports(n) {
  const keep = new Array(n);
  for (let i = 0; i < n; i++) keep[i] = new FakeTransport();
  return { keep, dispose: () => undefined };
}

export async function main() {
  const rounds = roundsFromArgs();
  console.log(`heap: bytes per instance at ${N} instances, ${rounds} rounds`);
  const measures = [
    ['pooled idle connection (the whole pool per connection)', () => pooledIdleConnections(N)],
    ['  its connection actor alone (child of one root)', () => perInstance(connectionActors, N)],
    ['  its fake transport alone', () => perInstance(transports, N)],
    ['bare started XState actor (tiny machine, own system)', () => perInstance(bareActors, N)],
  ];
  for (const [, measure] of measures) await measure(); // warm-up, not recorded
  const samples = measures.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < measures.length; i++) samples[i].push(await measures[i][1]());
  }
  const pooled = median(samples[0]);
  printTable(
    `heap per instance at ${N.toLocaleString('en-US')} (medians of ${rounds} rounds; KB = 1024 B)`,
    ['what', 'per instance', 'min – max', 'vs target 4.5 KB'],
    measures.map(([name], i) => [
      name,
      formatBytes(median(samples[i])),
      `${formatBytes(min(samples[i]))} – ${formatBytes(max(samples[i]))}`,
      formatRatio(median(samples[i]) / TARGET_BYTES),
    ]),
  );
  reportTargets('heap', [
    { name: 'heap per pooled idle connection at 10k: <= 4.5 KB', measured: formatBytes(pooled), met: pooled <= TARGET_BYTES },
  ]);
  return samples;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) runMain(main);
