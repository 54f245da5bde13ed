// Bench 1: acquire + release of an idle connection, at concurrency 1 and 8, against
// generic-pool and tarn, in the same run and the same rounds (contenders interleaved, their
// order rotated every round, each in its own worker process: see below). A contender's
// loop is written out in it, so that no call site is shared between pools.
//
//   node --expose-gc bench/engine-acquire.js [--rounds 11] [--ops 200000]

import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import genericPool from 'generic-pool';
import tarn from 'tarn';
import { ConnectionPool } from '../dist/index.js';
import {
  BENCH_URL,
  FakeTransport,
  fakeConnector,
  formatNs,
  formatRatio,
  median,
  min,
  max,
  nowNs,
  printTable,
  reportTargets,
  rotate,
  roundsFromArgs,
  runMain,
} from './lib/stats.js';

const CONCURRENCIES = [1, 8];
/** Pool capacity for the peers, and maxIdleConnections for ours: well above the concurrency, so nobody waits. */
const CAPACITY = 16;

function opsFromArgs() {
  const i = process.argv.indexOf('--ops');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 200_000;
  if (!Number.isInteger(n) || n < 8) throw new Error(`--ops must be an integer >= 8, got ${process.argv[i + 1]}`);
  return n;
}

// ---- contenders ----------------------------------------------------------------------------
// Each: { name, open(), run(concurrency, ops) → Promise<ns>, connections(), close() }.

/** Nanoseconds that `concurrency` runs of `loop`, sharing `ops` acquire+release pairs, take. */
async function timedLoops(loop, concurrency, ops) {
  const loops = new Array(concurrency);
  const t0 = nowNs();
  for (let c = 0; c < concurrency; c++) loops[c] = loop(ops / concurrency);
  await Promise.all(loops);
  return nowNs() - t0;
}

function ours() {
  // The default scheduler (wall clock, unref'd timers), as an application would use it.
  const pool = new ConnectionPool({ connector: fakeConnector, maxIdleConnections: CAPACITY });
  async function loop(n) {
    for (let i = 0; i < n; i++) {
      const lease = await pool.acquire(BENCH_URL);
      lease.release();
    }
  }
  return {
    name: 'reactive-connection-pool',
    run: (concurrency, ops) => timedLoops(loop, concurrency, ops),
    connects: () => pool.stats().totals.connects,
    close: () => pool.close(),
  };
}

function genericPoolContender() {
  let created = 0;
  const pool = genericPool.createPool(
    {
      create: () => {
        created++;
        return Promise.resolve(new FakeTransport());
      },
      destroy: (resource) => {
        resource.close();
        return Promise.resolve();
      },
    },
    { max: CAPACITY },
  );
  async function loop(n) {
    for (let i = 0; i < n; i++) {
      const resource = await pool.acquire();
      pool.release(resource);
    }
  }
  return {
    name: 'generic-pool 3.9',
    run: (concurrency, ops) => timedLoops(loop, concurrency, ops),
    connects: () => created,
    async close() {
      await pool.drain();
      await pool.clear();
    },
  };
}

function tarnContender() {
  let created = 0;
  const pool = new tarn.Pool({
    create: () => {
      created++;
      return Promise.resolve(new FakeTransport());
    },
    destroy: (resource) => resource.close(),
    min: 0,
    max: CAPACITY,
  });
  async function loop(n) {
    for (let i = 0; i < n; i++) {
      const resource = await pool.acquire().promise;
      pool.release(resource);
    }
  }
  return {
    name: 'tarn 3.1',
    run: (concurrency, ops) => timedLoops(loop, concurrency, ops),
    connects: () => created,
    close: () => pool.destroy(),
  };
}

// ---- the bench -----------------------------------------------------------------------------
// Each contender lives in its own worker process (its own heap, GC and JIT), and the parent
// has them measure in turn, so the measurements are interleaved in time (they share the
// machine's conditions) without one contender's garbage being collected on another's clock.
// In one process, generic-pool measured up to 2x slower after tarn had run, and 2-4x slower
// after an explicit gc() (a small old-generation limit: incremental marking all the time).

const CONTENDERS = { ours, 'generic-pool': genericPoolContender, tarn: tarnContender };

/** The worker side: builds one contender, warms it up, then measures on request. */
async function worker(key, ops) {
  const contender = CONTENDERS[key]();
  // Warm-up: every concurrency, until the connections exist and the code is optimised.
  for (let w = 0; w < 3; w++) for (const c of CONCURRENCIES) await contender.run(c, Math.max(8, ops / 2));
  const connectsAfterWarmup = contender.connects();
  process.on('message', async (message) => {
    if (message.type === 'run') {
      const elapsed = await contender.run(message.concurrency, message.ops);
      process.send({ type: 'result', ns: elapsed });
    } else if (message.type === 'close') {
      // Every measured op reused an idle connection: nobody connected after the warm-up.
      const made = contender.connects() - connectsAfterWarmup;
      await contender.close();
      process.send({ type: 'closed', made }, () => process.exit(0));
    }
  });
  process.send({ type: 'ready', name: contender.name });
}

/** The parent side of one worker: `request(message)` resolves with the worker's next reply. */
function startWorker(key, ops) {
  const child = fork(fileURLToPath(import.meta.url), ['--worker', key, '--ops', String(ops)], { stdio: 'inherit' });
  let waiting = null;
  child.on('message', (message) => {
    const settle = waiting;
    waiting = null;
    settle?.resolve(message);
  });
  child.on('exit', (code) => {
    if (waiting !== null) waiting.reject(new Error(`the ${key} worker exited with code ${code}`));
  });
  const next = () => new Promise((resolve, reject) => (waiting = { resolve, reject }));
  return {
    ready: next(),
    request(message) {
      const reply = next();
      child.send(message);
      return reply;
    },
  };
}

export async function main() {
  // Many short rounds: on a shared machine a median of many is what resists other processes.
  const rounds = roundsFromArgs(11);
  const ops = opsFromArgs();
  console.log(
    `acquire+release of an idle connection: ${ops} ops per measurement, ${rounds} rounds, concurrency ${CONCURRENCIES.join(' and ')}, one worker process per pool`,
  );
  const keys = Object.keys(CONTENDERS);
  const workers = keys.map((key) => startWorker(key, ops));
  // Warm up one at a time, so that they do not compete for the CPUs.
  const contenders = [];
  for (let i = 0; i < keys.length; i++) {
    const handle = workers[i];
    const { name } = await handle.ready;
    contenders.push({ name, handle });
  }

  const samples = new Map(); // `${name}@${c}` → ns per op, one per round
  for (let round = 0; round < rounds; round++) {
    for (const c of CONCURRENCIES) {
      for (const contender of rotate(contenders, round)) {
        const { ns } = await contender.handle.request({ type: 'run', concurrency: c, ops });
        const key = `${contender.name}@${c}`;
        if (!samples.has(key)) samples.set(key, []);
        samples.get(key).push(ns / ops);
      }
    }
  }
  for (const contender of contenders) {
    const { made } = await contender.handle.request({ type: 'close' });
    if (made !== 0) console.warn(`warning: ${contender.name} made ${made} connections during the measured rounds`);
  }

  // Ratios of medians; and, as a check that does not lean on generic-pool's bad rounds (its
  // cost swings 0.4-1 µs with the state of its worker's heap), our median over its best round.
  const rows = [];
  const ratios = {};
  const vsBest = {};
  for (const c of CONCURRENCIES) {
    const baseSamples = samples.get(`${contenders[1].name}@${c}`);
    const base = median(baseSamples);
    const best = min(baseSamples);
    for (const contender of contenders) {
      const s = samples.get(`${contender.name}@${c}`);
      const m = median(s);
      rows.push([contender.name, c, formatNs(m), `${formatNs(min(s))} – ${formatNs(max(s))}`, formatRatio(m / base), formatRatio(m / best)]);
      if (contender === contenders[0]) {
        ratios[c] = m / base;
        vsBest[c] = m / best;
      }
    }
  }
  printTable(
    `acquire+release of an idle connection (medians of ${rounds} rounds; ratios to generic-pool)`,
    ['pool', 'concurrency', 'per acquire+release', 'min – max', 'vs generic-pool', 'vs its best round'],
    rows,
  );
  reportTargets(
    'acquire',
    CONCURRENCIES.map((c) => ({
      name: `acquire+release, concurrency ${c}: pool / generic-pool <= 1.0x`,
      measured: `${formatRatio(ratios[c])} (${formatRatio(vsBest[c])} vs its best round)`,
      met: ratios[c] <= 1.0,
    })),
  );
  return { samples: Object.fromEntries(samples), ratios };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--worker');
  if (i >= 0) {
    worker(process.argv[i + 1], opsFromArgs()).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    runMain(main);
  }
}
