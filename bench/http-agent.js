// PooledAgent vs http.Agent({ keepAlive: true }) vs agentkeepalive (and undici's Pool as a
// reference), same server (another process), same run, concurrency 1 and 32: requests per
// second, medians of rounds in which the contenders take turns in slices (A B C A B C ...,
// the order rotating from round to round, so that a change of load on a shared machine
// weighs on all alike), as ratios to http.Agent (the median of the rounds' own ratios).
// With `--baseline <dist>` (another build of this package, e.g. of the commit before a
// change), that build's PooledAgent runs in the same rounds too, and its ratio to this
// build's says whether the change costs anything.
//
//   npm run build && node --expose-gc bench/http-agent.js [--rounds 5] [--requests 20000] [--slices 4] [--baseline /path/to/other/dist]
import http from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Agentkeepalive from 'agentkeepalive';
import { Pool as UndiciPool } from 'undici';
import { ConnectionPool } from '../dist/index.js';
import { forkServer } from './lib/fork-server.js';
import { getOnce } from './lib/http-load.js';
import { sliceRound } from './lib/slices.js';
import { median, rotate, roundsFromArgs } from './lib/stats.js';

const rounds = roundsFromArgs(5);
const requestsArg = process.argv.indexOf('--requests');
const TOTAL = requestsArg >= 0 ? Number(process.argv[requestsArg + 1]) : 20_000;
const slicesArg = process.argv.indexOf('--slices');
const SLICES = slicesArg >= 0 ? Number(process.argv[slicesArg + 1]) : 4;
const baselineArg = process.argv.indexOf('--baseline');
const BASELINE_DIST = baselineArg >= 0 ? resolve(process.argv[baselineArg + 1]) : undefined;
const BaselinePool = BASELINE_DIST === undefined ? undefined : (await import(pathToFileURL(`${BASELINE_DIST}/index.js`).href)).ConnectionPool;
const BASELINE = 'PooledAgent (baseline build)';

const server = await forkServer('servers/http-upstream.js');
const port = server.port;
const origin = `http://127.0.0.1:${port}`;

function contenders(concurrency) {
  const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const keepalive = new Agentkeepalive({ maxSockets: concurrency, freeSocketTimeout: 60_000 });
  const pool = new ConnectionPool({ maxConnectionsPerAddress: concurrency, maxIdleConnections: concurrency });
  const pooled = pool.httpAgent();
  const undici = new UndiciPool(origin, { connections: concurrency });
  const baselinePool = BaselinePool === undefined ? undefined : new BaselinePool({ maxConnectionsPerAddress: concurrency, maxIdleConnections: concurrency });
  const baselineAgent = baselinePool?.httpAgent();
  return {
    ...(baselineAgent === undefined ? {} : { [BASELINE]: { send: () => getOnce(baselineAgent, port), close: () => baselinePool.close() } }),
    'http.Agent': { send: () => getOnce(nodeAgent, port), close: async () => nodeAgent.destroy() },
    agentkeepalive: { send: () => getOnce(keepalive, port), close: async () => keepalive.destroy() },
    PooledAgent: { send: () => getOnce(pooled, port), close: () => pool.close() },
    'undici Pool (reference)': {
      send: async () => {
        const { body } = await undici.request({ path: '/', method: 'GET' });
        for await (const _ of body);
      },
      close: () => undici.close(),
    },
  };
}

const throughput = {};
const ratios = {};
for (const concurrency of [1, 32]) {
  const total = concurrency === 1 ? Math.min(TOTAL, 10_000) : TOTAL;
  const samples = {};
  for (let round = 0; round < rounds; round++) {
    const all = contenders(concurrency);
    const runners = Object.fromEntries(Object.entries(all).map(([name, { send }]) => [name, send]));
    const rps = await sliceRound(runners, { concurrency, total, slices: SLICES, order: rotate(Object.keys(runners), round) });
    for (const [name, value] of Object.entries(rps)) (samples[name] ??= []).push(value);
    for (const { close } of Object.values(all)) await close();
  }
  throughput[concurrency] = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
  ratios[concurrency] = Object.fromEntries(
    Object.keys(samples).map((name) => [name, median(samples[name].map((value, i) => value / samples['http.Agent'][i]))]),
  );
  if (BASELINE_DIST !== undefined) ratios[concurrency].againstBaseline = median(samples.PooledAgent.map((value, i) => value / samples[BASELINE][i]));
}

console.log(`\nHTTP/1.1 client throughput, ${TOTAL} requests, median of ${rounds} rounds of ${SLICES} slices (req/s; median ratio to http.Agent)`);
for (const [concurrency, byName] of Object.entries(throughput)) {
  for (const [name, rps] of Object.entries(byName)) {
    console.log(`  c=${String(concurrency).padEnd(3)} ${name.padEnd(30)} ${Math.round(rps).toString().padStart(7)} req/s  ${ratios[concurrency][name].toFixed(2)}x`);
  }
  if (BASELINE_DIST !== undefined) console.log(`  c=${String(concurrency).padEnd(3)} PooledAgent / the baseline build's: ${ratios[concurrency].againstBaseline.toFixed(2)}x`);
}

// Targets (issue 3): the PooledAgent at least as fast as http.Agent, at both concurrencies;
// with a baseline build, no slower than that build's (within this machine's noise).
const targets = Object.entries(ratios).flatMap(([concurrency, byName]) => [
  { name: `PooledAgent / http.Agent throughput, c=${concurrency} (>= 1.0x)`, measured: `${byName.PooledAgent.toFixed(2)}x`, met: byName.PooledAgent >= 1.0 },
  ...(BASELINE_DIST === undefined
    ? []
    : [{ name: `PooledAgent / the baseline build's, c=${concurrency} (>= 0.97x)`, measured: `${byName.againstBaseline.toFixed(2)}x`, met: byName.againstBaseline >= 0.97 }]),
]);
console.log(`#result ${JSON.stringify({ throughput, targets })}`);
await server.stop();
