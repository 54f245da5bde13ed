// What the diagnostics_channel publication costs the engine: acquire + release of an idle
// connection (fake transport, `acquireNow`), with nobody subscribed, with a subscriber on a
// channel of another event type (the checks run with a channel active), with subscribers on
// the channels of the two events every acquire and release make, and with an events$
// subscriber. Each contender runs in a fresh process per round (subscribing changes a
// channel's class: one process must not measure another's JIT state), rounds interleaved,
// medians of CPU ns per acquire + release. With `--baseline <dist>` (another build, e.g. of the
// commit before the channels), its pool with nobody subscribed runs in the same rounds.
//
//   npm run build && node --expose-gc bench/diagnostics-channel.js [--rounds 7] [--baseline /path/to/other/dist]
import { fork } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { BENCH_URL, fakeConnector, median, nsPerCall, rotate, roundsFromArgs } from './lib/stats.js';

const PREFIX = 'reactive-connection-pool:';
const CONTENDERS = {
  nobody: () => undefined,
  'a subscriber on another channel': () => subscribe(`${PREFIX}cleanup-failed`, () => undefined),
  'subscribers on connection-acquired and -released': () => {
    subscribe(`${PREFIX}connection-acquired`, () => undefined);
    subscribe(`${PREFIX}connection-released`, () => undefined);
  },
  'an events$ subscriber': (pool) => pool.events$.subscribe(() => undefined),
};

function argument(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const dist = new URL('../dist/pool/index.js', import.meta.url);
const baseline = argument('--baseline', undefined);
const BASELINE = 'nobody, baseline build';

if (process.env.CHANNEL_BENCH_CONTENDER !== undefined) {
  // A child: one contender, one measurement (median CPU ns of 15 timed batches).
  const name = process.env.CHANNEL_BENCH_CONTENDER;
  const { ConnectionPool } = await import(name === BASELINE ? new URL(`${baseline}/pool/index.js`, import.meta.url).href : dist.href);
  const pool = new ConnectionPool({ connector: fakeConnector, maxIdleConnections: 1 });
  (await pool.acquire(BENCH_URL)).release();
  (CONTENDERS[name] ?? CONTENDERS.nobody)(pool);
  // The process's CPU time rather than the wall clock: on a shared machine the wall clock also
  // counts the time other processes held the CPU.
  const cpuNs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) * 1_000;
  };
  const ns = nsPerCall(
    (k) => {
      const t0 = cpuNs();
      for (let i = 0; i < k; i++) pool.acquireNow(BENCH_URL).release();
      return cpuNs() - t0;
    },
    { minBatchNs: 20e6 },
  );
  process.send({ ns });
  process.exit(0);
} else {
  const rounds = roundsFromArgs(7);
  const names = [...Object.keys(CONTENDERS), ...(baseline === undefined ? [] : [BASELINE])];
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(names, round)) {
      const child = fork(fileURLToPath(import.meta.url), process.argv.slice(2), { env: { ...process.env, CHANNEL_BENCH_CONTENDER: name }, execArgv: ['--expose-gc'] });
      samples[name].push(await new Promise((resolve, reject) => {
        child.once('message', (message) => resolve(message.ns));
        child.once('error', reject);
        child.once('exit', (code) => code !== 0 && reject(new Error(`${name}: exit ${code}`)));
      }));
    }
  }
  const medians = Object.fromEntries(names.map((name) => [name, median(samples[name])]));
  console.log(`\nacquireNow + release of an idle connection, median of ${rounds} rounds (ns; ratio to nobody)${baseline === undefined ? '' : `; baseline build: ${baseline}`}`);
  for (const name of names) console.log(`  ${name.padEnd(50)} ${medians[name].toFixed(0).padStart(5)} ns  ${(medians[name] / medians.nobody).toFixed(2)}x`);
  const ratio = medians['a subscriber on another channel'] / medians.nobody;
  const targets = [{ name: 'acquire + release with a channel active elsewhere / with nobody (about 1.0x, <= 1.15x: nothing is built)', measured: `${ratio.toFixed(2)}x`, met: ratio <= 1.15 }];
  if (baseline !== undefined) {
    const before = medians.nobody / medians[BASELINE];
    targets.push({ name: 'acquire + release with nobody subscribed / the same on the baseline build (about 1.0x, <= 1.15x)', measured: `${before.toFixed(2)}x`, met: before <= 1.15 });
  }
  console.log(`#result ${JSON.stringify({ medians, targets })}`);
}
