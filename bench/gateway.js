// The gateway against a hand-written proxy and against http-proxy (issue 15): the same upstream,
// the same load, each proxy in its own process, interleaved rounds, medians, ratios.
//
//   npm run build && node bench/gateway.js [--rounds 5] [--seconds 2] [--entry dist/main.js]
//                                          [--only gateway,hand-written] [--scenarios c1,c32]
//                                          [--env K=V ...] [--node-args "--flag ..."]
//                                          [--compare <other build>/dist/main.js]
//                                          [--peers-with-tunables] [--slices 4]
//
// Processes: the upstream (bench/servers/gateway-upstream.js: 12 bytes, or 1 MiB on /big), the
// hand-written proxy (bench/servers/hand-written-proxy.js: http.request over a keep-alive
// http.Agent, piping both ways), http-proxy (bench/servers/http-proxy.js, with a keep-alive
// agent), the gateway (`node dist/main.js` as `npm start` runs it, with its defaults but PORT
// and UPSTREAM_URL, with the GLIBC_TUNABLES `npm start` and the image set), and the load
// generator (bench/lib/raw-load.js, raw keep-alive sockets). `--peers-with-tunables` starts the
// hand-written proxy and http-proxy with the same GLIBC_TUNABLES (by default they run as a
// user would run them, without).
// In every round each scenario runs each proxy in turn, in `--slices` slices of the round's
// seconds taken in turns (A B A B ..., the order rotating from slice to slice and round to
// round), so that a change of load on a shared machine (which moves c=1 between two regimes,
// one twice as fast as the other) weighs on all of them alike; a proxy's round is the sum of
// its slices. The figures are medians over the rounds, the ratios are of those medians (vs
// hand-written); the median of the per-round ratios is printed beside them.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forkServer } from './lib/fork-server.js';
import { startGateway, startTunables } from './lib/gateway-process.js';
import { idleClients, percentile, runLoad } from './lib/raw-load.js';
import { median, rotate } from './lib/stats.js';

const SELF = fileURLToPath(import.meta.url);
const MIB = 1024 * 1024;

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

/** What each scenario sends, and at what concurrency. */
const SCENARIOS = {
  c1: { title: 'GET, 12 B answer, concurrency 1', path: '/proxy/echo', concurrency: 1 },
  c32: { title: 'GET, 12 B answer, concurrency 32', path: '/proxy/echo', concurrency: 32 },
  up: { title: 'POST 1 MiB body, 12 B answer, concurrency 8', method: 'POST', path: '/proxy/echo', bodyBytes: MIB, concurrency: 8 },
  down: { title: 'GET, 1 MiB answer, concurrency 8', path: '/proxy/big', concurrency: 8 },
  // 1,000 idle + 16 busy stays under the gateway's default CLIENT_MAX_CONNECTIONS (1,024).
  idle: { title: 'GET, 12 B answer, concurrency 16, with 1,000 idle keep-alive clients connected', path: '/proxy/echo', concurrency: 16, idle: 1_000 },
};

/**
 * The upstream and the load generator, which are not measured, run with the GLIBC_TUNABLES the
 * gateway gets: with glibc's default trim threshold a node:http process moving 1 MiB bodies
 * takes up to 280 page faults per body, or none, depending on what it happened to free before
 * (bench/RESULTS.md, issue 15, session 7), and a slow upstream made the 1 MiB scenarios swing
 * from round to round for every proxy (up to 2x).
 */
const INFRASTRUCTURE_ENV = { ...process.env, GLIBC_TUNABLES: startTunables() };

// ---- the load generator's process -----------------------------------------------------------

async function loadRole() {
  process.on('disconnect', () => process.exit(0));
  process.on('message', async ({ port, scenario, seconds, warmupSeconds }) => {
    const idle = scenario.idle === undefined ? null : await idleClients({ port, path: scenario.path, count: scenario.idle });
    const result = await runLoad({ port, ...scenario, seconds, warmupSeconds, keepLatencies: true });
    if (idle !== null) {
      result.idleOpen = idle.open();
      idle.close();
    }
    process.send(result);
  });
}

function startLoadProcess() {
  const child = fork(SELF, ['--role', 'load'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: INFRASTRUCTURE_ENV });
  return {
    run: (port, scenario, seconds, warmupSeconds) =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send({ port, scenario, seconds, warmupSeconds });
      }),
    stop: () => child.disconnect(),
  };
}

/**
 * CPU time (user + system, ms) that process `pid` has used so far, from /proc (Linux; null
 * elsewhere): the CPU per request is steadier than the throughput on a shared machine.
 */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in ticks of 1/100 s
  } catch {
    return null;
  }
}

// ---- the bench ------------------------------------------------------------------------------

async function startContenders(only, upstreamPort, entry, extraEnv, nodeArgs, compare, peersWithTunables) {
  const peerEnv = peersWithTunables ? { ...process.env, GLIBC_TUNABLES: startTunables() } : process.env;
  const all = {
    // Another build of the gateway (--compare), in the same rounds: A/B of a change.
    'gateway-b': () => startGateway(compare, { UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, ...extraEnv }, nodeArgs),
    'hand-written': () => forkServer('servers/hand-written-proxy.js', [String(upstreamPort)], peerEnv),
    'http-proxy': () => forkServer('servers/http-proxy.js', [String(upstreamPort)], peerEnv),
    // Its defaults, as `npm start` runs it; only where it listens and forwards to differ.
    gateway: () => startGateway(entry, { UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, ...extraEnv }, nodeArgs),
  };
  const started = {};
  for (const name of only) started[name] = await all[name]();
  return started;
}

function format(rps) {
  return rps >= 100 ? rps.toFixed(0) : rps.toFixed(1);
}

async function main() {
  const rounds = Number(arg('rounds', '5'));
  const seconds = Number(arg('seconds', '2'));
  const slices = Number(arg('slices', '4'));
  const entry = arg('entry', fileURLToPath(new URL('../dist/main.js', import.meta.url)));
  const compare = arg('compare', null);
  const only = arg('only', 'hand-written,http-proxy,gateway').split(',');
  if (compare !== null && !only.includes('gateway-b')) only.push('gateway-b');
  const scenarioNames = arg('scenarios', Object.keys(SCENARIOS).join(',')).split(',');
  const extraEnv = Object.fromEntries(process.argv.flatMap((value, i) => (process.argv[i - 1] === '--env' ? [value.split(/=(.*)/s).slice(0, 2)] : [])));
  // Node/V8 options for the gateway's process only (what `npm start` runs is `node dist/main.js`).
  const nodeArgs = arg('node-args', '').split(' ').filter(Boolean);

  const upstream = await forkServer('servers/gateway-upstream.js', [], INFRASTRUCTURE_ENV);
  const peersWithTunables = process.argv.includes('--peers-with-tunables');
  const contenders = await startContenders(only, upstream.port, entry, extraEnv, nodeArgs, compare, peersWithTunables);
  const load = startLoadProcess();
  console.log(`gateway.js: ${rounds} rounds x ${seconds} s per proxy and scenario in ${slices} slices taken in turns (after a warm-up of 0.5 s, then 0.1 s, each); GLIBC_TUNABLES=${startTunables()} for the gateway${peersWithTunables ? ' and the peers' : ' only'}; gateway ${nodeArgs.length > 0 ? `node ${nodeArgs.join(' ')} ` : ''}${entry}${Object.keys(extraEnv).length > 0 ? ` with ${JSON.stringify(extraEnv)}` : ''}${compare === null ? '' : `; gateway-b ${compare}`}`);
  const results = Object.fromEntries(scenarioNames.map((name) => [name, Object.fromEntries(only.map((proxy) => [proxy, []]))]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of scenarioNames) {
        const scenario = SCENARIOS[name];
        const sums = Object.fromEntries(only.map((proxy) => [proxy, { counted: 0, answered: 0, failed: 0, cpuMs: 0, latencies: [], idleOpen: undefined }]));
        for (let slice = 0; slice < slices; slice++) {
          for (const proxy of rotate(only, round + slice)) {
            const cpuBefore = cpuMsOf(contenders[proxy].pid);
            // A full warm-up before a proxy's first slice of the round, a short one before the others.
            const result = await load.run(contenders[proxy].port, scenario, seconds / slices, slice === 0 ? 0.5 : 0.1);
            const cpuAfter = cpuMsOf(contenders[proxy].pid);
            const sum = sums[proxy];
            sum.counted += result.latencies.length;
            sum.answered += result.answered;
            sum.failed += result.failed;
            sum.cpuMs += cpuBefore === null || cpuAfter === null ? NaN : cpuAfter - cpuBefore;
            sum.latencies.push(...result.latencies);
            if (result.idleOpen !== undefined) sum.idleOpen = Math.min(sum.idleOpen ?? Infinity, result.idleOpen);
          }
        }
        const line = [];
        for (const proxy of rotate(only, round)) {
          const sum = sums[proxy];
          sum.latencies.sort((a, b) => a - b);
          // The proxy's CPU per request over the warm-ups and the counted runs (µs).
          const result = { rps: sum.counted / seconds, p50: percentile(sum.latencies, 50), p99: percentile(sum.latencies, 99), failed: sum.failed, cpuUs: (sum.cpuMs * 1000) / sum.answered, idleOpen: sum.idleOpen };
          results[name][proxy].push(result);
          line.push(`${proxy} ${format(result.rps)}/s p99 ${result.p99.toFixed(2)} ms cpu ${result.cpuUs.toFixed(1)} µs/req${result.failed > 0 ? ` (${result.failed} failed)` : ''}${result.idleOpen === undefined ? '' : ` [${result.idleOpen} idle open]`}`);
        }
        console.log(`round ${round + 1} ${name.padEnd(4)} ${line.join('; ')}`);
      }
    }
  } finally {
    load.stop();
    for (const contender of Object.values(contenders)) await contender.stop();
    await upstream.stop();
  }

  const base = only.includes('hand-written') ? 'hand-written' : only[0];
  for (const name of scenarioNames) {
    console.log(`\n${SCENARIOS[name].title} (medians of ${rounds} rounds; ratios vs ${base})`);
    console.log('| proxy | req/s | ratio | per-round ratio | p50 ms | p99 ms | p99 ratio | per-round p99 ratio | CPU µs/req | failed |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const baseRows = results[name][base];
    const baseRps = median(baseRows.map((r) => r.rps));
    const baseP99 = median(baseRows.map((r) => r.p99));
    for (const proxy of only) {
      const rows = results[name][proxy];
      const rps = median(rows.map((r) => r.rps));
      const p99 = median(rows.map((r) => r.p99));
      const failed = rows.reduce((sum, r) => sum + r.failed, 0);
      const roundRatio = median(rows.map((r, i) => r.rps / baseRows[i].rps));
      const roundP99Ratio = median(rows.map((r, i) => r.p99 / baseRows[i].p99));
      console.log(
        `| ${proxy} | ${format(rps)} | ${(rps / baseRps).toFixed(2)}x | ${roundRatio.toFixed(2)}x | ${median(rows.map((r) => r.p50)).toFixed(2)} | ${p99.toFixed(2)} | ${(p99 / baseP99).toFixed(2)}x | ${roundP99Ratio.toFixed(2)}x | ${median(rows.map((r) => r.cpuUs)).toFixed(1)} | ${failed} |`,
      );
    }
  }
}

if (process.argv[2] === '--role') {
  await loadRole();
} else {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
