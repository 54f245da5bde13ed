// pool.dispatcher() against undici's own dispatchers, HTTP/1.1, same server (another
// process), same run:
//   - undici.request through pool.dispatcher() vs through undici's Pool, same connection count
//     (target: >= 0.95x undici's throughput);
//   - fetch through pool.dispatcher() vs fetch with an undici Agent (target: >= 1.0x), both
//     an Agent with the same connection limit and undici's default Agent (no limit: what
//     fetch uses unless told otherwise; at c=1 it too uses one connection).
// Requests per second; in each round the contenders take turns in slices (the order rotates
// from round to round); the ratio is the median of the rounds' ratios.
//
// With `--baseline <dist>` (another build of this package, e.g. of the commit before a change),
// the dispatcher of that build runs in the same rounds too, and its ratio to this build's
// says whether the change costs anything.
//
//   npm run build && node --expose-gc bench/http-dispatcher.js [--rounds 7] [--requests 20000] [--slices 4] [--api request|fetch] [--baseline /path/to/other/dist]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, Pool, fetch, request } from 'undici';
import { ConnectionPool } from '../dist/index.js';
import { forkServer } from './lib/fork-server.js';
import { sliceRound } from './lib/slices.js';
import { formatRatio, median, printTable, rotate, roundsFromArgs } from './lib/stats.js';

const rounds = roundsFromArgs(7);
const slicesArg = process.argv.indexOf('--slices');
const SLICES = slicesArg >= 0 ? Number(process.argv[slicesArg + 1]) : 4;
const requestsArg = process.argv.indexOf('--requests');
const TOTAL = requestsArg >= 0 ? Number(process.argv[requestsArg + 1]) : 20_000;
const apiArg = process.argv.indexOf('--api');
/** Which APIs to measure (both by default): `--api fetch` spends all the rounds on fetch. */
const APIS = apiArg >= 0 ? [process.argv[apiArg + 1]] : ['request', 'fetch'];
if (!APIS.every((api) => api === 'request' || api === 'fetch')) throw new Error(`--api must be request or fetch, got ${APIS.join(', ')}`);
const baselineArg = process.argv.indexOf('--baseline');
const BASELINE_DIST = baselineArg >= 0 ? resolve(process.argv[baselineArg + 1]) : undefined;
/** The other build's pool, when there is one to compare with. */
const BaselinePool = BASELINE_DIST === undefined ? undefined : (await import(pathToFileURL(`${BASELINE_DIST}/index.js`).href)).ConnectionPool;
const BASELINE = 'pool.dispatcher() (baseline build)';

/** Scenarios: concurrent callers, and connections for both sides. */
const SCENARIOS = [
  { name: 'c=1, 1 connection', concurrency: 1, connections: 1 },
  { name: 'c=32, 32 connections', concurrency: 32, connections: 32 },
  { name: 'c=32, 8 connections (queued)', concurrency: 32, connections: 8 },
];

const server = await forkServer('servers/http-upstream.js');
const origin = `http://127.0.0.1:${server.port}`;
const url = `${origin}/`;

function contenders(connections) {
  const pool = new ConnectionPool({ maxConnectionsPerAddress: connections, maxIdleConnections: connections });
  const dispatcher = pool.dispatcher();
  const undiciPool = new Pool(origin, { connections });
  const undiciAgent = new Agent({ connections });
  // What fetch gets unless told otherwise (Node's global dispatcher is an Agent without a
  // connection limit). It differs from the one above at c=1: undici's Agent given
  // `connections: 1` makes a bare Client per origin instead of a Pool, one layer less.
  const defaultAgent = new Agent();
  const baselinePool = BaselinePool === undefined ? undefined : new BaselinePool({ maxConnectionsPerAddress: connections, maxIdleConnections: connections });
  const baselineDispatcher = baselinePool?.dispatcher();
  const baselineContenders =
    baselineDispatcher === undefined
      ? { request: {}, fetch: {} }
      : {
          request: {
            [BASELINE]: {
              send: async () => {
                const { body } = await request(url, { dispatcher: baselineDispatcher });
                await body.dump();
              },
            },
          },
          fetch: {
            [BASELINE]: {
              send: async () => {
                const response = await fetch(url, { dispatcher: baselineDispatcher });
                await response.arrayBuffer();
              },
            },
          },
        };
  return {
    request: {
      'undici Pool': {
        send: async () => {
          const { body } = await request(url, { dispatcher: undiciPool });
          await body.dump();
        },
      },
      'pool.dispatcher()': {
        send: async () => {
          const { body } = await request(url, { dispatcher });
          await body.dump();
        },
      },
    },
    fetch: {
      'undici Agent': {
        send: async () => {
          const response = await fetch(url, { dispatcher: undiciAgent });
          await response.arrayBuffer();
        },
      },
      'undici Agent (default)': {
        send: async () => {
          const response = await fetch(url, { dispatcher: defaultAgent });
          await response.arrayBuffer();
        },
      },
      'pool.dispatcher()': {
        send: async () => {
          const response = await fetch(url, { dispatcher });
          await response.arrayBuffer();
        },
      },
    },
    baseline: baselineContenders,
    close: async () => {
      await Promise.all([pool.close(), undiciPool.close(), undiciAgent.close(), defaultAgent.close(), baselinePool?.close()]);
    },
  };
}

const results = {};
for (const scenario of SCENARIOS) {
  for (const api of APIS) {
    const total = api === 'fetch' ? Math.ceil(TOTAL / 2) : TOTAL;
    const samples = {};
    // undici's default Agent opens a connection per concurrent request: comparable only
    // where the pool may open as many.
    const comparable = scenario.connections >= scenario.concurrency;
    for (let r = 0; r < rounds; r++) {
      const all = contenders(scenario.connections);
      const runners = Object.fromEntries(
        Object.entries({ ...all[api], ...all.baseline[api] })
          .filter(([name]) => name !== 'undici Agent (default)' || comparable)
          .map(([name, { send }]) => [name, send]),
      );
      const rps = await sliceRound(runners, { concurrency: scenario.concurrency, total, slices: SLICES, order: rotate(Object.keys(runners), r) });
      for (const [name, value] of Object.entries(rps)) (samples[name] ??= []).push(value);
      await all.close();
    }
    const ours = 'pool.dispatcher()';
    const baselines = api === 'request' ? ['undici Pool'] : comparable ? ['undici Agent', 'undici Agent (default)'] : ['undici Agent'];
    if (BASELINE_DIST !== undefined) baselines.push(BASELINE);
    for (const baseline of baselines) {
      const ratios = samples[ours].map((rps, i) => rps / samples[baseline][i]);
      const suffix = baseline === 'undici Agent (default)' ? ', default Agent' : baseline === BASELINE ? ', baseline build' : '';
      results[`${api} ${scenario.name}${suffix}`] = {
        against:
          baseline === 'undici Agent'
            ? `undici Agent({ connections: ${scenario.connections} })`
            : baseline === 'undici Pool'
              ? 'undici Pool'
              : baseline === BASELINE
                ? 'the baseline build'
                : 'undici Agent() (no limit)',
        baseline: median(samples[baseline]),
        pool: median(samples[ours]),
        ratio: median(ratios),
        // Against the baseline build: no slower, within this machine's noise.
        target: baseline === BASELINE ? 0.97 : api === 'request' ? 0.95 : 1.0,
      };
    }
  }
}

printTable(
  `HTTP/1.1 through pool.dispatcher(), ${TOTAL} requests (fetch: half), median of ${rounds} interleaved rounds`,
  ['scenario', 'undici req/s', 'pool req/s', 'ratio (median of rounds)', 'target'],
  Object.entries(results).map(([name, r]) => [
    `${name.startsWith('request') ? 'undici.request' : 'fetch'} vs ${r.against}: ${name.replace(/^\w+ /, '').replace(/, (default Agent|baseline build)$/, '')}`,
    Math.round(r.baseline).toString(),
    Math.round(r.pool).toString(),
    formatRatio(r.ratio),
    `>= ${r.target.toFixed(2)}x ${r.ratio >= r.target ? 'met' : 'MISSED'}`,
  ]),
);
console.log(`\nRESULT ${JSON.stringify(results)}`);
await server.stop();
