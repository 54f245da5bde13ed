// The gateway's event streams under load (issue 12, item 6): proxy throughput and /health/live
// latency with no event stream open, and with EVENT_STREAMS_MAX streams open, every one reading.
//
//   npm run build && node bench/gateway-events.js [--entry dist/main.js] [--rounds 5] [--seconds 3]
//                                                   [--cap 8] [--concurrency 32] [--env K=V ...]
//                                                   [--node-args "--cpu-prof ..."]
//
// Each part runs in its own process: the upstream (bench/servers/http-upstream.js, 2 bytes),
// the gateway (`node <entry>`, as `npm start` runs it), the load (keep-alive clients on
// /proxy/x at the given concurrency), the probe (GET /health/live every 10 ms, one at a time)
// and the stream readers (SSE clients on EVENTS_PATH, reading all the time). Rounds alternate
// "none" and "cap" (the order rotating every round); the figures are medians over rounds, and
// the ratio is of medians from the same run.
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forkServer } from './lib/fork-server.js';
import { freePort, waitUntilUp } from './lib/gateway-process.js';
import { median } from './lib/stats.js';

const SELF = fileURLToPath(import.meta.url);

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];}

// ---- child roles ------------------------------------------------------------------------

/** Keep-alive GETs on `path` at `concurrency` until told to stop; reports how many completed. */
async function runLoad({ port, path, concurrency, seconds }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let done = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1_000;
  const one = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) done++;
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const elapsed = (performance.now() - started) / 1_000;
  agent.destroy();
  return { rps: done / elapsed, failed };}

/** GET `path` one at a time, every 10 ms, until the time is up; reports the latencies (ms). */
async function runProbe({ port, path, seconds }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let failed = 0;
  const deadline = performance.now() + seconds * 1_000;
  while (performance.now() < deadline) {
    const started = performance.now();
    await new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - started);
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  agent.destroy();
  return { latencies, failed };}

/** Opens `count` event streams (each reading all the time), then one more, which must be refused. */
async function runReaders({ port, path, count }) {
  const streams = [];
  let bytes = 0;
  let events = 0;
  let dropped = 0;
  const open = () =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] });
          return;
        }
        res.setEncoding('utf8');
        let first = true;
        res.on('data', (chunk) => {
          bytes += chunk.length;
          for (let at = chunk.indexOf('\nevent: '); at !== -1; at = chunk.indexOf('\nevent: ', at + 1)) {
            events++;
            if (chunk.startsWith('dropped', at + 8)) dropped++;
          }
          if (first) {
            first = false;
            streams.push(req);
            resolve({ status: 200 });
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', reject);
    });
  for (let i = 0; i < count; i++) {
    const { status } = await open();
    if (status !== 200) throw new Error(`stream ${i + 1} of ${count} was refused (${status})`);
  }
  const extra = await open();
  process.send({ opened: streams.length, extra });
  await new Promise((resolve) => process.once('message', resolve));
  for (const req of streams) req.destroy();
  return { bytes, events, dropped };}

if (process.argv[2] === '--role') {
  // Never outlive the bench.
  process.on('disconnect', () => process.exit(0));
  const role = process.argv[3];
  const options = JSON.parse(process.argv[4]);
  const run = { load: runLoad, probe: runProbe, readers: runReaders }[role];
  run(options).then(
    (result) => {
      process.send({ result }, () => process.exit(0));
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  await main();}

// ---- the bench ----------------------------------------------------------------------------

function child(role, options) {
  const proc = fork(SELF, ['--role', role, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise((resolve, reject) => {
    proc.on('message', (message) => {
      if (message.result !== undefined) resolve(message.result);
    });
    proc.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${role} exited with ${code}`))));
  });
  return { proc, result };}

async function main() {
  const entry = arg('entry', fileURLToPath(new URL('../dist/main.js', import.meta.url)));
  const rounds = Number(arg('rounds', '5'));
  const seconds = Number(arg('seconds', '3'));
  const cap = Number(arg('cap', '8')); // the gateway's default EVENT_STREAMS_MAX
  const concurrency = Number(arg('concurrency', '32'));
  const extraEnv = Object.fromEntries(process.argv.flatMap((value, i) => (process.argv[i - 1] === '--env' ? [value.split(/=(.*)/s).slice(0, 2)] : [])));

  const upstream = await forkServer('servers/http-upstream.js');
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`,
    EVENT_STREAMS_MAX: String(cap),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...extraEnv,
  };
  // Node flags for the gateway (e.g. --cpu-prof), as bench/gateway.js takes them.
  const nodeArgs = arg('node-args', '').split(' ').filter(Boolean);
  const gateway = spawn(process.execPath, [...nodeArgs, entry], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitUntilUp(port);
    await measure({ entry, port, upstream, env, rounds, seconds, cap, concurrency, pid: gateway.pid });
  } finally {
    gateway.kill('SIGTERM');
    await once(gateway, 'exit');
    await upstream.stop();
  }}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux; NaN elsewhere):
 * on a 2-core machine the readers' own processes take CPU from the gateway, so the throughput
 * ratio also measures the machine; the gateway's CPU per proxied request measures the gateway.
 */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime (fields 14 and 15 of stat(5)) in clock ticks, USER_HZ = 100 on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }}

async function measure({ entry, port, upstream, env, rounds, seconds, cap, concurrency, pid }) {
  console.log(`gateway ${entry} on :${port}, upstream :${upstream.port}; cap ${cap} streams, load concurrency ${concurrency}, ${rounds} rounds x ${seconds} s per mode`);
  console.log(`env: ${JSON.stringify({ ...env, PATH: undefined })}`);

  // Warm-up: JIT, pool connections.
  await child('load', { port, path: '/proxy/x', concurrency, seconds: 1 }).result;

  const results = { none: [], cap: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['none', 'cap'] : ['cap', 'none'];
    for (const mode of order) {
      let readers = null;
      if (mode === 'cap') {
        readers = child('readers', { port, path: '/pool/events', count: cap });
        const [message] = await once(readers.proc, 'message');
        // A build without the cap (the comparison with an older one) lets it through.
        if (message.extra.status !== 503) console.log(`  (stream ${cap + 1} was not refused: ${JSON.stringify(message.extra)}; it stays open too)`);
        else if (round === 0) console.log(`  (stream ${cap + 1} refused: 503, Retry-After ${message.extra.retryAfter})`);
      }
      const cpuBefore = cpuMsOf(pid);
      const [load, probe] = await Promise.all([
        child('load', { port, path: '/proxy/x', concurrency, seconds }).result,
        child('probe', { port, path: '/health/live', seconds }).result,
      ]);
      const cpuMs = cpuMsOf(pid) - cpuBefore;
      let read = null;
      if (readers !== null) {
        readers.proc.send('stop');
        read = await readers.result;
      }
      const row = { rps: load.rps, cpuMsPer1k: (cpuMs / (load.rps * seconds)) * 1_000, failed: load.failed + probe.failed, p50: percentile(probe.latencies, 50), p99: percentile(probe.latencies, 99), max: Math.max(...probe.latencies), read };
      results[mode].push(row);
      console.log(
        `round ${round + 1} ${mode.padEnd(4)}: ${row.rps.toFixed(0)} req/s, gateway CPU ${row.cpuMsPer1k.toFixed(0)} ms per 1,000 requests, /health/live p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms max ${row.max.toFixed(1)} ms` +
          (read === null ? '' : `; streams read ${read.events} events (${(read.bytes / 1024 / seconds).toFixed(0)} KiB/s), ${read.dropped} drop reports`) +
          (row.failed > 0 ? `; ${row.failed} failed` : ''),
      );
    }
  }

  const none = median(results.none.map((r) => r.rps));
  const full = median(results.cap.map((r) => r.rps));
  const p99 = median(results.cap.map((r) => r.p99));
  console.log('');
  console.log(`| streams open | proxy req/s (median) | /health/live p99 (median of rounds) | p50 |`);
  console.log(`| --- | --- | --- | --- |`);
  console.log(`| 0 | ${none.toFixed(0)} | ${median(results.none.map((r) => r.p99)).toFixed(1)} ms | ${median(results.none.map((r) => r.p50)).toFixed(1)} ms |`);
  console.log(`| ${cap} (all reading) | ${full.toFixed(0)} | ${p99.toFixed(1)} ms | ${median(results.cap.map((r) => r.p50)).toFixed(1)} ms |`);
  console.log('');
  const perRound = results.cap.map((row, i) => row.rps / results.none[i].rps);
  console.log(`per-round ratios (cap / none, same round): ${perRound.map((r) => r.toFixed(2)).join(' ')}; median ${median(perRound).toFixed(2)}x`);
  const cpuNone = median(results.none.map((r) => r.cpuMsPer1k));
  const cpuCap = median(results.cap.map((r) => r.cpuMsPer1k));
  console.log(`gateway CPU per 1,000 proxied requests (median of rounds): ${cpuNone.toFixed(0)} ms with no stream, ${cpuCap.toFixed(0)} ms with ${cap} streams reading: the streams cost the gateway ${(cpuCap / cpuNone).toFixed(2)}x the CPU per request, i.e. ${(cpuNone / cpuCap).toFixed(2)}x the throughput where the gateway has the CPU to itself`);
  console.log(`throughput ratio (cap / none): ${(full / none).toFixed(2)}x (target >= 0.8x: ${full / none >= 0.8 ? 'met' : 'NOT met'}); /health/live p99 with the cap reached: ${p99.toFixed(1)} ms (target < 100 ms: ${p99 < 100 ? 'met' : 'NOT met'})`);
}
