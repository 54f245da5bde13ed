// PooledAgent vs http.Agent({ keepAlive: true }) vs agentkeepalive (and undici's Pool as a
// reference), same server (another process), same run, concurrency 1 and 32: requests per
// second, medians of interleaved rounds, as ratios to http.Agent.
//
//   npm run build && node --expose-gc bench/http-agent.js [--rounds 5] [--requests 20000]
import http from 'node:http';
import Agentkeepalive from 'agentkeepalive';
import { Pool as UndiciPool } from 'undici';
import { ConnectionPool } from '../dist/index.js';
import { forkServer } from './lib/fork-server.js';
import { getOnce, requestsPerSecond as measure } from './lib/http-load.js';
import { median, roundsFromArgs } from './lib/stats.js';

const rounds = roundsFromArgs(5);
const requestsArg = process.argv.indexOf('--requests');
const TOTAL = requestsArg >= 0 ? Number(process.argv[requestsArg + 1]) : 20_000;

const server = await forkServer('servers/http-upstream.js');
const port = server.port;
const origin = `http://127.0.0.1:${port}`;

function contenders(concurrency) {
  const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const keepalive = new Agentkeepalive({ maxSockets: concurrency, freeSocketTimeout: 60_000 });
  const pool = new ConnectionPool({ maxConnectionsPerAddress: concurrency, maxIdleConnections: concurrency });
  const pooled = pool.httpAgent();
  const undici = new UndiciPool(origin, { connections: concurrency });
  return {
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
for (const concurrency of [1, 32]) {
  const total = concurrency === 1 ? Math.min(TOTAL, 10_000) : TOTAL;
  const samples = {};
  for (let round = 0; round < rounds; round++) {
    const all = contenders(concurrency);
    // Interleave: every contender once per round, in a rotating order.
    const names = Object.keys(all);
    const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
    for (const name of order) {
      await measure(all[name].send, concurrency, Math.ceil(total / 10)); // warm-up
      (samples[name] ??= []).push(await measure(all[name].send, concurrency, total));
    }
    for (const name of names) await all[name].close();
  }
  throughput[concurrency] = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

console.log(`\nHTTP/1.1 client throughput, ${TOTAL} requests, median of ${rounds} rounds (req/s; ratio to http.Agent)`);
for (const [concurrency, byName] of Object.entries(throughput)) {
  const base = byName['http.Agent'];
  for (const [name, rps] of Object.entries(byName)) {
    console.log(`  c=${String(concurrency).padEnd(3)} ${name.padEnd(24)} ${Math.round(rps).toString().padStart(7)} req/s  ${(rps / base).toFixed(2)}x`);
  }
}

// Targets (issue 3): the PooledAgent at least as fast as http.Agent, at both concurrencies.
const targets = Object.entries(throughput).map(([concurrency, byName]) => {
  const ratio = byName.PooledAgent / byName['http.Agent'];
  return { name: `PooledAgent / http.Agent throughput, c=${concurrency} (>= 1.0x)`, measured: `${ratio.toFixed(2)}x`, met: ratio >= 1.0 };
});
console.log(`#result ${JSON.stringify({ throughput, targets })}`);
await server.stop();
