// HTTP/2 through pool.dispatcher() against undici with allowH2, same server (another process,
// TLS with ALPN h2), same run, one session each (target: >= 1.0x undici's throughput).
// undici.request and fetch; requests per second; in each round the contenders take turns in
// slices (the order rotates from round to round); the ratio is the median of the rounds' ratios.
//
//   npm run build && node --expose-gc bench/http2-dispatcher.js [--rounds 7] [--requests 20000] [--slices 4]
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Pool, fetch, request } from 'undici';
import { ConnectionPool } from '../dist/index.js';
import { sliceRound } from './lib/slices.js';
import { formatRatio, median, printTable, rotate, roundsFromArgs } from './lib/stats.js';

const rounds = roundsFromArgs(7);
const slicesArg = process.argv.indexOf('--slices');
const SLICES = slicesArg >= 0 ? Number(process.argv[slicesArg + 1]) : 4;
const requestsArg = process.argv.indexOf('--requests');
const TOTAL = requestsArg >= 0 ? Number(process.argv[requestsArg + 1]) : 20_000;
const CONCURRENCY = [1, 32, 100];

/** Forks the HTTP/2 server; it sends back its port and its self-signed certificate. */
async function forkH2Server() {
  const child = fork(fileURLToPath(new URL('./servers/h2-upstream.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = await once(child, 'message');
  return {
    ...message,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

const server = await forkH2Server();
const origin = `https://127.0.0.1:${server.port}`;
const url = `${origin}/`;

function contenders(api) {
  // One HTTP/2 session each: the pool opens one connection per address at most, undici's Pool one.
  const pool = new ConnectionPool({ maxConnectionsPerAddress: 1 });
  const dispatcher = pool.dispatcher({ tls: { ca: server.cert } });
  // undici multiplexes an HTTP/2 session only up to `pipelining` (default 1): give it the
  // same 100 streams the pool's sessions carry (the NetConnector's http2.maxConcurrentStreams).
  const undici = new Pool(origin, { connections: 1, allowH2: true, pipelining: 100, maxConcurrentStreams: 100, connect: { ca: server.cert } });
  const send =
    api === 'request'
      ? (d) => async () => {
          const { body } = await request(url, { dispatcher: d });
          await body.dump();
        }
      : (d) => async () => {
          const response = await fetch(url, { dispatcher: d });
          await response.arrayBuffer();
        };
  return {
    runners: { 'undici allowH2': send(undici), 'pool.dispatcher()': send(dispatcher) },
    close: async () => {
      await Promise.all([pool.close(), undici.close()]);
    },
  };
}

const results = {};
for (const api of ['request', 'fetch']) {
  for (const concurrency of CONCURRENCY) {
    const total = api === 'fetch' ? Math.ceil(TOTAL / 2) : TOTAL;
    const samples = {};
    for (let r = 0; r < rounds; r++) {
      const { runners, close } = contenders(api);
      const rps = await sliceRound(runners, { concurrency, total, slices: SLICES, order: rotate(Object.keys(runners), r) });
      for (const [name, value] of Object.entries(rps)) (samples[name] ??= []).push(value);
      await close();
    }
    const ratios = samples['pool.dispatcher()'].map((rps, i) => rps / samples['undici allowH2'][i]);
    results[`${api} c=${concurrency}`] = {
      undici: median(samples['undici allowH2']),
      pool: median(samples['pool.dispatcher()']),
      ratio: median(ratios),
    };
  }
}

printTable(
  `HTTP/2 (TLS), one session each: pool.dispatcher() vs undici Pool { allowH2 }, ${TOTAL} requests (fetch: half), median of ${rounds} interleaved rounds`,
  ['scenario', 'undici req/s', 'pool req/s', 'ratio (median of rounds)', 'target'],
  Object.entries(results).map(([name, r]) => [
    name,
    Math.round(r.undici).toString(),
    Math.round(r.pool).toString(),
    formatRatio(r.ratio),
    `>= 1.00x ${r.ratio >= 1 ? 'met' : 'MISSED'}`,
  ]),
);
console.log(`\nRESULT ${JSON.stringify(results)}`);
await server.stop();
