// What watching the pool costs: the PooledAgent's throughput with everything attached (an
// events$ subscriber, the Prometheus metrics and the OpenTelemetry instrumentation with an SDK
// MeterProvider collecting every second) against the same pool with nothing attached. Same
// server (another process), same run, concurrency 1 and 32, interleaved rounds (the order
// alternates), medians; the ratio is observed / bare.
//
//   npm run build && node --expose-gc bench/observability-overhead.js [--rounds 9] [--requests 20000]
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { ConnectionPool } from '../dist/index.js';
import { ConnectionPoolMetrics } from '../dist/nest/index.js';
import { instrumentConnectionPool } from '../dist/opentelemetry/index.js';
import { forkServer } from './lib/fork-server.js';
import { getOnce, requestsPerSecond as measure } from './lib/http-load.js';
import { median, roundsFromArgs } from './lib/stats.js';

const rounds = roundsFromArgs(9);
const requestsArg = process.argv.indexOf('--requests');
const TOTAL = requestsArg >= 0 ? Number(process.argv[requestsArg + 1]) : 20_000;

const server = await forkServer('servers/http-upstream.js');
const port = server.port;

/** A pool and its PooledAgent; `observed` attaches everything an operator would. */
function contender(concurrency, observed) {
  const pool = new ConnectionPool({ maxConnectionsPerAddress: concurrency, maxIdleConnections: concurrency });
  const agent = pool.httpAgent();
  const detach = [];
  if (observed) {
    let events = 0;
    const subscription = pool.events$.subscribe(() => events++);
    detach.push(() => subscription.unsubscribe());
    const prometheus = new ConnectionPoolMetrics({ registry: new Registry() });
    prometheus.track('default', pool);
    detach.push(() => prometheus.dispose());
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const instrumentation = instrumentConnectionPool(pool, { meterProvider });
    detach.push(() => instrumentation.dispose(), () => meterProvider.shutdown());
  }
  return {
    send: () => getOnce(agent, port),
    async close() {
      for (const step of detach) await step();
      await pool.close();
    },
  };
}

const throughput = {};
for (const concurrency of [1, 32]) {
  const total = concurrency === 1 ? Math.min(TOTAL, 10_000) : TOTAL;
  const samples = { bare: [], observed: [] };
  for (let round = 0; round < rounds; round++) {
    const all = { bare: contender(concurrency, false), observed: contender(concurrency, true) };
    const order = round % 2 === 0 ? ['bare', 'observed'] : ['observed', 'bare'];
    for (const name of order) {
      await measure(all[name].send, concurrency, Math.ceil(total / 10)); // warm-up
      samples[name].push(await measure(all[name].send, concurrency, total));
    }
    for (const name of order) await all[name].close();
  }
  throughput[concurrency] = { bare: median(samples.bare), observed: median(samples.observed) };
}

console.log(`\nPooledAgent throughput with events$ + Prometheus + OpenTelemetry attached, ${TOTAL} requests, median of ${rounds} rounds`);
for (const [concurrency, { bare, observed }] of Object.entries(throughput)) {
  console.log(`  c=${String(concurrency).padEnd(3)} bare ${Math.round(bare).toString().padStart(7)} req/s   observed ${Math.round(observed).toString().padStart(7)} req/s   ${(observed / bare).toFixed(3)}x`);
}

// Target (issue 16): observed >= 0.95x of bare, at both concurrencies.
const targets = Object.entries(throughput).map(([concurrency, { bare, observed }]) => ({
  name: `PooledAgent observed / bare throughput, c=${concurrency} (>= 0.95x)`,
  measured: `${(observed / bare).toFixed(3)}x`,
  met: observed / bare >= 0.95,
}));
console.log(`#result ${JSON.stringify({ throughput, targets })}`);
await server.stop();
