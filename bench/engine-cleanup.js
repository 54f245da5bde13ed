// Bench 2: one cleanup pass with nothing due, at 1k, 10k and 100k idle connections, beside an
// OkHttp-style linear scan of as many plain objects.
// Bench 3: evicting 10k expired connections out of 100k idle ones; and, to split that cost,
// two diagnostic rows: the same loop with the connection actors' EVICT transition stubbed
// out (what is left is the pool's own work), and 10k connection actors taking EVICT with no
// pool around them (the XState part alone).
//
//   node --expose-gc bench/engine-cleanup.js [--rounds N]   (default: 15 for bench 2, 5 for bench 3)

import { pathToFileURL } from 'node:url';
import { Actor, createActor, fromCallback } from 'xstate';
import { connectionMachine } from '../dist/index.js';
import { EVICTION, evictionScene, fillIdle, setTime, virtualPool } from './lib/fill.js';
import {
  FakeTransport,
  formatNs,
  formatRatio,
  gc,
  gcAndSettle,
  max,
  median,
  min,
  nowNs,
  nsPerCall,
  printTable,
  reportTargets,
  rotate,
  roundsFromArgs,
  runMain,
} from './lib/stats.js';

const SIZES = [1_000, 10_000, 100_000];
let sink = 0;

// ---- bench 2: a pass with nothing due ------------------------------------------------------

/** OkHttp's cleanup, as a scan: find the connection idle longest, count idle and in use. */
function linearScanCleanup(connections, now, keepAliveMs, maxIdle) {
  let inUse = 0;
  let idle = 0;
  let longest = null;
  let longestIdleMs = -Infinity;
  for (let i = 0; i < connections.length; i++) {
    const connection = connections[i];
    if (connection.inUse) {
      inUse++;
      continue;
    }
    idle++;
    const idleMs = now - connection.idleAt;
    if (idleMs > longestIdleMs) {
      longestIdleMs = idleMs;
      longest = connection;
    }
  }
  if (longest !== null && (longestIdleMs >= keepAliveMs || idle > maxIdle)) {
    connections.splice(connections.indexOf(longest), 1);
    return 0;
  }
  if (idle > 0) return keepAliveMs - longestIdleMs;
  return inUse > 0 ? keepAliveMs : -1;
}

function poolBatch(pool, now) {
  return (k) => {
    let s = 0;
    const t0 = nowNs();
    for (let i = 0; i < k; i++) s += pool.cleanup(now + (i & 1023));
    const elapsed = nowNs() - t0;
    sink += s;
    return elapsed;
  };
}

function scanBatch(connections, now, keepAliveMs) {
  return (k) => {
    let s = 0;
    const t0 = nowNs();
    for (let i = 0; i < k; i++) s += linearScanCleanup(connections, now + (i & 1023), keepAliveMs, Infinity);
    const elapsed = nowNs() - t0;
    sink += s;
    return elapsed;
  };
}

/**
 * Pools of 1k, 10k and 100k idle connections, all alive at once, measured in turn in every
 * round (sizes rotated, pool and scan alternated), so that a burst of load on this shared
 * machine falls on all of them rather than on one size.
 */
async function nothingDue(rounds) {
  const keepAliveMs = 3_600_000;
  const now = 1_000;
  const expected = keepAliveMs - now;
  const setups = [];
  for (const n of SIZES) {
    // Idle since 0..900 ms in ten groups; at now = 1000..2023 ms (the batches vary it, so that
    // no pass can be folded into the previous one) nothing is near keepAlive (1 h).
    const { pool, scheduler } = virtualPool(keepAliveMs);
    const groups = Array.from({ length: 10 }, (_, g) => [n / 10, g * 100]);
    await fillIdle(pool, scheduler, groups);
    setTime(scheduler, now);
    if (pool.cleanup(now) !== expected) throw new Error(`cleanup(${now}) should return ${expected} with nothing due`);
    const plain = Array.from({ length: n }, (_, i) => ({ idleAt: Math.floor((i * 10) / n) * 100, inUse: false }));
    if (linearScanCleanup(plain, now, keepAliveMs, Infinity) !== expected) throw new Error('the linear scan disagrees');
    setups.push({ n, pool, ours: poolBatch(pool, now), scan: scanBatch(plain, now, keepAliveMs), oursNs: [], scanNs: [] });
  }
  await gcAndSettle();
  for (let round = 0; round < rounds; round++) {
    for (const setup of rotate(setups, round)) {
      const oursFirst = round % 2 === 0;
      if (oursFirst) setup.oursNs.push(nsPerCall(setup.ours, { minBatchNs: 2e6, batches: 11 }));
      setup.scanNs.push(nsPerCall(setup.scan, { minBatchNs: 2e6, batches: 11 }));
      if (!oursFirst) setup.oursNs.push(nsPerCall(setup.ours, { minBatchNs: 2e6, batches: 11 }));
    }
  }
  for (const { n, pool } of setups) {
    if (pool.connectionCount() !== n) throw new Error('a pass with nothing due evicted something');
    await pool.close();
  }
  return setups.map(({ n, oursNs, scanNs }) => ({ n, ours: oursNs, scan: scanNs }));
}

// ---- bench 3: evicting 10k of 100k ---------------------------------------------------------

const { total: EVICT_TOTAL, expired: EVICT_EXPIRED } = EVICTION;

/**
 * For the diagnostic row: while on, a connection actor made from now on ignores EVICT, without
 * its XState transition (xstate binds `send` per actor when it is made, hence "made from now
 * on"). The pool still closes the transport. What is left of the loop is the pool's own work.
 */
function stubEvictTransition() {
  const send = Actor.prototype.send;
  Actor.prototype.send = function (event) {
    if (event.type !== 'EVICT') return send.call(this, event);
  };
  return () => {
    Actor.prototype.send = send;
  };
}

/** One round: 10k idle since t=0, 90k since t=1 s; at keepAlive + 0.5 s only the 10k are due. */
async function evictRound({ stubbed = false } = {}) {
  const restore = stubbed ? stubEvictTransition() : () => undefined;
  try {
    const { pool, now } = await evictionScene();
    await gcAndSettle();
    const closedBefore = FakeTransport.closed;
    let evicted = 0;
    const t0 = nowNs();
    while (pool.cleanup(now) === 0) evicted++;
    const elapsed = nowNs() - t0;
    const closed = FakeTransport.closed - closedBefore;
    const next = pool.cleanup(now);
    if (evicted !== EVICT_EXPIRED || closed !== EVICT_EXPIRED || pool.connectionCount() !== EVICT_TOTAL - EVICT_EXPIRED || next !== 500) {
      throw new Error(`eviction went wrong: evicted ${evicted}, closed ${closed}, left ${pool.connectionCount()}, next pass in ${next} ms`);
    }
    await pool.close();
    return elapsed;
  } finally {
    restore();
  }
}

/**
 * The XState part without the pool: 100k connection actors (children of one root, as the
 * pool makes them), of which 10k take EVICT (into the final state; the pool would then close
 * the transport).
 */
async function actorsOnlyRound() {
  const root = createActor(fromCallback(() => undefined));
  root.start();
  const actors = new Array(EVICT_TOTAL);
  for (let i = 0; i < EVICT_TOTAL; i++) {
    const actor = createActor(connectionMachine, { parent: root, input: { id: `c${i}` } });
    actor.start();
    actor.send({ type: 'CONNECTED', transport: new FakeTransport() });
    actors[i] = actor;
  }
  await gcAndSettle();
  const event = { type: 'EVICT', reason: 'keep-alive-expired' };
  const t0 = nowNs();
  for (let i = 0; i < EVICT_EXPIRED; i++) actors[i].send(event);
  const elapsed = nowNs() - t0;
  if (actors[0].getSnapshot().output?.reason !== 'keep-alive-expired') throw new Error('the actor did not reach its final state with its reason');
  root.stop();
  return elapsed;
}

async function eviction(rounds) {
  const pool = [];
  const stubbed = [];
  const actors = [];
  for (let round = 0; round < rounds; round++) {
    // The three kinds in turn, their order rotated, so that load on the machine falls on all.
    const kinds = rotate(
      [
        async () => pool.push(await evictRound()),
        async () => stubbed.push(await evictRound({ stubbed: true })),
        async () => actors.push(await actorsOnlyRound()),
      ],
      round,
    );
    for (const kind of kinds) {
      await kind();
      gc();
    }
  }
  return { pool, stubbed, actors };
}

// ---- the bench -----------------------------------------------------------------------------

export async function main() {
  // Rounds are cheap for a pass with nothing due (15 by default) and dear for an eviction
  // (each builds 100k connections three times: 5 by default); --rounds N sets both.
  const given = process.argv.includes('--rounds') || process.env.BENCH_ROUNDS !== undefined;
  const passRounds = given ? roundsFromArgs() : 15;
  const evictRounds = given ? roundsFromArgs() : 5;
  console.log(
    `cleanup: a pass with nothing due at ${SIZES.join(', ')} idle connections (${passRounds} rounds); evicting ${EVICT_EXPIRED} of ${EVICT_TOTAL} (${evictRounds} rounds)`,
  );

  const passes = await nothingDue(passRounds);
  const base = passes[0];
  const rows = passes.map(({ n, ours, scan }) => [
    n.toLocaleString('en-US'),
    formatNs(median(ours)),
    `${formatNs(min(ours))} – ${formatNs(max(ours))}`,
    formatRatio(median(ours) / median(base.ours)),
    formatNs(median(scan)),
    formatRatio(median(scan) / median(base.scan)),
    formatRatio(median(scan) / median(ours)),
  ]);
  printTable(
    `one cleanup(now) pass with nothing due (medians of ${passRounds} rounds; "vs 1k" = cost / cost at 1k)`,
    ['idle connections', 'pool.cleanup', 'min – max', 'vs 1k', 'linear scan', 'vs 1k', 'scan / pool'],
    rows,
  );

  const { pool: evictNs, stubbed: stubbedNs, actors: actorsNs } = await eviction(evictRounds);
  const row = (name, values) => [name, formatNs(median(values)), `${formatNs(min(values))} – ${formatNs(max(values))}`, formatNs(median(values) / EVICT_EXPIRED)];
  printTable(
    `evicting ${EVICT_EXPIRED.toLocaleString('en-US')} expired of ${EVICT_TOTAL.toLocaleString('en-US')} idle connections (medians of ${evictRounds} rounds)`,
    ['what', 'total', 'min – max', 'per eviction'],
    [
      row('while (pool.cleanup(now) === 0) {}', evictNs),
      row('diagnostic: the same, EVICT transition stubbed (the pool\'s own work)', stubbedNs),
      row('diagnostic: 10k connection actors alone take EVICT (no pool)', actorsNs),
    ],
  );

  const flat = median(passes[passes.length - 1].ours) / median(base.ours);
  reportTargets('cleanup', [
    { name: 'pass with nothing due: 100k within 2x of 1k', measured: formatRatio(flat), met: flat <= 2 },
    { name: 'evict 10k expired of 100k: < 100 ms', measured: formatNs(median(evictNs)), met: median(evictNs) < 100e6 },
  ]);
  if (sink === 42) console.log(''); // keeps the timed results observable
  return { passes, evictNs, actorsNs };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) runMain(main);
