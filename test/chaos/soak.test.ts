import * as http from 'node:http';
import * as https from 'node:https';
import { Pool as UndiciPool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { ConnectionPoolOptions, PoolEvent } from '../../src/pool/index.js';
import { testCerts } from '../support/certs.js';
import { FaultProxy, type ProxiedConnectionInfo, type RandomFaults } from '../support/fault-proxy.js';
import { fileDescriptorsBackTo, openFileDescriptors } from '../support/open-files.js';
import { TIMEOUT, isIdempotent, isStaleConnectionFailure, nodeHttpClient, undiciClient, type AttemptRecord, type Client } from './support/clients.js';
import { FaultScript } from './support/fault-script.js';
import { runLoad, summarize, type LoadRun, type RequestRecord } from './support/load.js';
import { eventCounts, expectClosedCleanly, expectPoolAtRest, settle } from './support/pool-invariants.js';
import { saveResults, type ResultRow } from './support/results.js';
import { startChaosUpstream, type ChaosUpstream } from './support/upstream.js';
import { EventLoopLag } from './support/event-loop-lag.js';

/**
 * The soak: tens of thousands of requests, 64 at a time, through the PooledAgent to a real
 * server behind the fault proxy, with faults all along (random ones from a seed, and commanded
 * ones on a schedule: resets, half-closes, a blackhole, refusals, handshakes held). Then the
 * same load, same seed, same faults, through a plain `http.Agent` and plain undici, whose
 * failures are counted for comparison (not asserted).
 *
 * What it proves of the PooledAgent and the pool under it:
 * - every request ends, with a response or an error of a known kind, within its deadline;
 * - every successful response is the one asked for (none read off another request's connection);
 * - no request is given a socket that had already been seen to close (destroyed, or the peer's
 *   FIN read) when it was handed over: the pool checks before every reuse;
 * - every idempotent request that failed only because its reused connection was stale was
 *   sent again (as Node's docs and the PooledAgent's TSDoc say a caller should) and succeeded,
 *   unless its second attempt met a fault of its own that the proxy recorded;
 * - every failure is explained by a fault the proxy injected (on that request's connection,
 *   or an outage in force);
 * - afterwards the pool's counts agree with `connections()`, no lease or waiter is left,
 *   `close()` closes every connection exactly once, and the process's open file descriptors
 *   return to where they were.
 *
 * Checks of the same kind (in time, known codes, exact bodies, nothing left behind; and no
 * stale-connection failure reaching the caller of an idempotent request, which it retries by
 * itself) apply to `pool.dispatcher()` over HTTP/1.1, HTTP/1.1 + TLS and HTTP/2
 * (with undici's own HTTP/2 for comparison) unless `CHAOS_DISPATCHER=0` (see DISPATCHER_RUNS).
 *
 * Sizes: `CHAOS_REQUESTS` (default 20 000; `npm run soak`: 200 000) cleartext, and
 * `CHAOS_TLS_REQUESTS` and `CHAOS_H2_REQUESTS` (default 3 000; soak: 40 000) over TLS;
 * `CHAOS_SEED` replays a run's faults. The numbers land in `test-artifacts/chaos/` (see
 * `support/results.ts`).
 */

function intEnv(name: string, fallback: number): number {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : Number.parseInt(value, 10);
}

const SOAK = process.env.SOAK === '1';
const REQUESTS = intEnv('CHAOS_REQUESTS', SOAK ? 200_000 : 20_000);
const TLS_REQUESTS = intEnv('CHAOS_TLS_REQUESTS', SOAK ? 40_000 : 3_000);
const H2_REQUESTS = intEnv('CHAOS_H2_REQUESTS', SOAK ? 40_000 : 3_000);
const SEED = intEnv('CHAOS_SEED', 20_251_120);
const CONCURRENCY = 64;
/** Each request's deadline. */
const TIMEOUT_MS = 1_500;
/** Past the deadline, how long a request may take to end before it counts as hung (event-loop lag on 2 cores). */
const HANG_GRACE_MS = 1_500;
/** How long after an outage ends its effects may still show (requests sent into it end at their deadline). */
const OUTAGE_SHADOW_MS = TIMEOUT_MS + HANG_GRACE_MS;
const CONNECTIONS = 48;
/** Per test: generous, and scaled with the load (the soak's own deadlines are what bound each request). */
const TEST_TIMEOUT_MS = 60_000 + Math.max(REQUESTS, TLS_REQUESTS * 4, H2_REQUESTS * 4) * 3;

/**
 * The `pool.dispatcher()` runs (HTTP/1.1, HTTP/1.1 + TLS, HTTP/2) are on by default;
 * `CHAOS_DISPATCHER=0` leaves them out (to soak the PooledAgent alone).
 */
const DISPATCHER_RUNS = process.env.CHAOS_DISPATCHER !== '0';

/** Random faults all along: a little latency, stale connections, resets inside responses, half-closes, idle timeouts. */
const RANDOM_FAULTS: RandomFaults = {
  jitterMs: 2,
  staleReset: 0.02,
  staleAfterMs: 5,
  resetMidResponse: 0.002,
  halfCloseAfterResponse: 0.002,
  resetOnAccept: 0.01,
  idleCloseMs: 10,
  idleCloseJitterMs: 30,
};

const CONNECT_TIMEOUT_MS = 500;
const ACQUIRE_TIMEOUT_MS = 1_000;

const POOL_OPTIONS: ConnectionPoolOptions = {
  maxConnectionsPerAddress: CONNECTIONS,
  maxIdleConnections: CONNECTIONS,
  keepAlive: '30s',
  connectTimeout: CONNECT_TIMEOUT_MS,
  acquireTimeout: ACQUIRE_TIMEOUT_MS,
  drainTimeout: '2s',
};

/** The failures that are a time running out, and that time (ms). */
const TIME_BUDGETS_MS: Readonly<Record<string, number>> = {
  ERR_CONNECT_TIMEOUT: CONNECT_TIMEOUT_MS,
  UND_ERR_CONNECT_TIMEOUT: CONNECT_TIMEOUT_MS,
  ERR_ACQUIRE_TIMEOUT: ACQUIRE_TIMEOUT_MS,
  [TIMEOUT]: TIMEOUT_MS,
  ABORT_ERR: TIMEOUT_MS, // an attempt cut by the request's deadline
};

/** The codes a PooledAgent request may fail with here, each a fault the proxy can cause. */
const KNOWN_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET', // reset, or closed ("socket hang up"), before or during the response
  'EPIPE', // written to a connection the peer had closed
  'ECONNREFUSED', // while the proxy refused connections
  'ERR_CONNECT_TIMEOUT', // the pool's connectTimeout, while handshakes were held
  'ERR_ACQUIRE_TIMEOUT', // the pool's acquireTimeout, while every connection was stuck in a blackhole
  'ERR_RESPONSE_INCOMPLETE', // the response ended short (the client's own check)
  TIMEOUT, // the request's deadline, in a blackhole or a held connection
]);

/**
 * The codes a `pool.dispatcher()` request may fail with here: the PooledAgent's, and undici's
 * and HTTP/2's names for the same faults. Never ERR_STALE_CONNECTION for an idempotent request:
 * the dispatcher sends those again by itself (checked separately).
 */
const KNOWN_DISPATCHER_CODES: ReadonlySet<string> = new Set([
  ...KNOWN_CODES,
  'UND_ERR_SOCKET', // "other side closed" during the response
  'ERR_STALE_CONNECTION', // a POST whose reused connection failed: not sent again, and said so
  'UND_ERR_INFO', // undici's (and the dispatcher's) name for an HTTP/2 stream closed before its response was complete
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const certs = testCerts();
const rows: ResultRow[] = [];
const context = {
  command: `${DISPATCHER_RUNS ? '' : 'CHAOS_DISPATCHER=0 '}${SOAK ? 'npm run soak' : 'npx vitest run test/chaos'}`,
  seed: SEED,
  concurrency: CONCURRENCY,
  connections: `${CONNECTIONS} per client (PooledAgent maxConnectionsPerAddress, http.Agent maxSockets, undici Pool connections)`,
  deadline: `${TIMEOUT_MS} ms per request`,
  randomFaults: RANDOM_FAULTS,
  commandedFaults: 'at 10 % reset all, 20 % half-close all, 30 % blackhole 200 ms, 45 % refuse 100 ms, 60 % hold handshakes 300 ms, 75 % reset all, 90 % blackhole 100 ms',
};

afterAll(() => {
  if (rows.length > 0) {
    const path = saveResults(SOAK ? 'soak-long' : 'soak', rows, context);
    console.log(`chaos soak results: ${path}`);
  }
});

interface Segment {
  readonly protocol: string;
  readonly upstream: 'http' | 'https' | 'h2';
  readonly total: number;
  /** Whether the PooledAgent (HTTP/1.1 only) and plain http.Agent run over it (HTTP/2 is the dispatcher's and undici's). */
  readonly agents: boolean;
}

const SEGMENTS: readonly Segment[] = [
  { protocol: 'HTTP/1.1', upstream: 'http', total: REQUESTS, agents: true },
  { protocol: 'HTTP/1.1 + TLS', upstream: 'https', total: TLS_REQUESTS, agents: true },
  ...(DISPATCHER_RUNS ? [{ protocol: 'HTTP/2 (TLS, ALPN h2)', upstream: 'h2' as const, total: H2_REQUESTS, agents: false }] : []),
];

/** A run through one client, with the proxy and the fault script it met. */
interface Trial {
  readonly run: LoadRun;
  readonly proxy: FaultProxy;
  readonly script: FaultScript;
  /** How long the process could not run during the run (the machine's load). */
  readonly lag: EventLoopLag;
}


/** Runs `total` requests through the client `make` builds for the proxy's origin, faults and all. */
async function soak(upstream: ChaosUpstream, secure: boolean, total: number, make: (origin: string) => Client): Promise<Trial & { client: Client }> {
  const proxy = await FaultProxy.start({ targetPort: upstream.port, seed: SEED, random: RANDOM_FAULTS });
  const script = new FaultScript(proxy, total);
  const origin = `${secure ? 'https' : 'http'}://127.0.0.1:${proxy.port}`;
  const client = make(origin);
  const lag = EventLoopLag.start();
  const run = await runLoad(client, {
    total,
    concurrency: CONCURRENCY,
    seed: SEED,
    timeoutMs: TIMEOUT_MS,
    hangGraceMs: HANG_GRACE_MS,
    maxThinkMs: 4,
    failureBackoffMs: 20,
    onProgress: script.onProgress,
  });
  lag.stop();
  await script.stop();
  return { run, proxy, script, client, lag };
}

function row(protocol: string, trialResult: Trial): ResultRow {
  return { ...summarize(trialResult.run), protocol, faults: trialResult.proxy.faultCounts() };
}

/** Faults a client cannot see until it sends (no FIN, no RST): they cannot fail a connect by themselves. */
const SILENT_FAULTS: ReadonlySet<string> = new Set(['blackholed', 'held']);

/**
 * The proxied connection an attempt went on, found by the client's port: the last one with that
 * port the proxy accepted before the attempt ended (it may accept a new connection a little
 * after the client saw it connect, when a burst of connects keeps it busy).
 */
function proxiedConnectionOf(attempt: AttemptRecord, endedAt: number, { proxy }: Trial): ProxiedConnectionInfo | undefined {
  if (attempt.localPort === undefined) return undefined;
  return proxy.connectionByClientPort(attempt.localPort, endedAt + 5);
}

/** Why an attempt failed, as the proxy saw it: a fault on its connection, or an outage in force. */
function explanation(attempt: AttemptRecord, endedAt: number, trialResult: Trial): string | undefined {
  const { proxy, script } = trialResult;
  const connection = proxiedConnectionOf(attempt, endedAt, trialResult);
  const fault = connection && proxy.faultsFor(connection.serial).find((f) => f.at <= endedAt + 50);
  if (fault) return `${fault.kind} on proxied connection #${fault.serial}`;
  const outage = script.outages.find((o) => o.from <= endedAt && (o.to ?? Infinity) + OUTAGE_SHADOW_MS >= attempt.startedAt);
  if (outage) return `${outage.kind} outage`;
  // A wait that ran out of its time while the process could not run for half of that time (the
  // machine busy with other work): the time was not the connection's to lose.
  const budget = TIME_BUDGETS_MS[attempt.error?.code ?? ''];
  if (budget !== undefined) {
    // The request's deadline covers all its attempts: its window is the whole request's.
    const from = budget === TIMEOUT_MS ? endedAt - TIMEOUT_MS : attempt.startedAt;
    const stalled = trialResult.lag.stalledMsBetween(from, endedAt);
    if (stalled >= budget / 2) return `the process could not run for ${stalled} ms of a wait of ${budget} ms`;
  }
  // A connect that failed (reset on accept, or in the TLS handshake) never gave the request a
  // socket, so there is no port to match: match a fault on a connection accepted meanwhile.
  // The dispatcher says so (a ConnectError, "Could not connect ..."); the PooledAgent gives the
  // socket's own error, as Node's agent does, to a request that never got a socket.
  const connectFailed = attempt.error?.message.startsWith('Could not connect') === true || (attempt.localPort === undefined && attempt.connectedAt === undefined);
  if (connectFailed) {
    const during = (at: number): boolean => at >= attempt.startedAt - 5 && at <= endedAt + 5;
    const fault = proxy.faults.find((f) => during(f.at) && !SILENT_FAULTS.has(f.kind) && during(proxy.connectionByClientPort(f.clientPort, f.at)?.acceptedAt ?? -Infinity));
    if (fault) return `${fault.kind} during a connect`;
  }
  return undefined;
}

/**
 * The longest a request took, less the time the process could not run meanwhile: what the
 * deadline and the grace bound, whatever the machine's load.
 */
function slowestRunnableMs({ run, lag }: Trial): number {
  let slowest = 0;
  for (const record of run.records) {
    slowest = Math.max(slowest, record.durationMs - lag.stalledMsBetween(record.startedAt, record.startedAt + record.durationMs));
  }
  return slowest;
}

/**
 * Checks that a run met what it claims to test (faults, retries, mostly successes), unless the
 * process could not run for half of it: then the machine, not the pool, decided how many
 * requests got through, and the numbers prove nothing either way (they are printed).
 */
function expectCoverage(trialResult: Trial, what: string, check: () => void): void {
  const stalled = trialResult.lag.stalledShare();
  if (stalled < 0.5) check();
  else console.log(`${what}: coverage not judged, the process could not run ${Math.round(stalled * 100)} % of the time`);
}

interface StaleReuse {
  readonly request: string;
  readonly attempt: number;
  readonly closedAtHandOver: true;
}

interface Findings {
  hung: RequestRecord[];
  unknownCodes: RequestRecord[];
  unexplained: RequestRecord[];
  /** Sockets the agent handed out although it had already seen them close. */
  staleReuse: StaleReuse[];
  /** Attempts whose socket's state at hand-over is known. */
  handOversChecked: number;
  staleNotRetried: RequestRecord[];
  retryFailedUnexplained: RequestRecord[];
  /** Retries that failed because a fault struck their own connection (the proxy recorded it). */
  retryMetItsOwnFault: number;
  staleFailures: number;
  retriedOk: number;
}

function analyse(trialResult: Trial): Findings {
  const findings: Findings = {
    hung: [],
    unknownCodes: [],
    unexplained: [],
    staleReuse: [],
    handOversChecked: 0,
    staleNotRetried: [],
    retryFailedUnexplained: [],
    retryMetItsOwnFault: 0,
    staleFailures: 0,
    retriedOk: 0,
  };
  for (const record of trialResult.run.records) {
    const outcome = record.outcome;
    if (outcome === 'hung') {
      findings.hung.push(record);
      continue;
    }
    const endedAt = record.startedAt + record.durationMs;
    outcome.attempts.forEach((attempt, index) => {
      if (attempt.closedAtHandOver !== undefined) findings.handOversChecked++;
      if (attempt.closedAtHandOver === true) {
        findings.staleReuse.push({ request: `${record.request.method} ${record.request.path}`, attempt: index + 1, closedAtHandOver: true });
      }
    });
    const last = outcome.attempts[outcome.attempts.length - 1] as AttemptRecord;
    if (!outcome.ok) {
      if (!KNOWN_CODES.has(outcome.code)) findings.unknownCodes.push(record);
      if (explanation(last, endedAt, trialResult) === undefined) findings.unexplained.push(record);
    }
    const first = outcome.attempts[0] as AttemptRecord;
    if (!isIdempotent(record.request.method) || !isStaleConnectionFailure(first)) continue;
    findings.staleFailures++;
    if (outcome.attempts.length < 2) {
      // Only the deadline may stop the retry.
      if (!(!outcome.ok && outcome.code === TIMEOUT)) findings.staleNotRetried.push(record);
      continue;
    }
    if (outcome.ok) findings.retriedOk++;
    else if (explanation(last, endedAt, trialResult) !== undefined) findings.retryMetItsOwnFault++;
    else findings.retryFailedUnexplained.push(record);
  }
  return findings;
}

/**
 * The end of a soak through the pool: once requests that gave up while their acquire was
 * queued have let it end by itself, the pool is at rest (counts agree, no lease); it closes
 * cleanly; and, client, proxy and the upstream's connections gone, the process holds no more
 * file descriptors than before the soak.
 */
async function expectNothingLeftBehind(end: {
  pool: ConnectionPool;
  events: PoolEvent[];
  trial: Trial & { client: Client };
  upstream: ChaosUpstream;
  baseline: number;
}): Promise<void> {
  const { pool, events, trial, upstream, baseline } = end;
  await settle(pool, 5_000);
  expectPoolAtRest(pool);
  await trial.client.close();
  await pool.close();
  expectClosedCleanly(pool, events);
  await trial.proxy.close();
  await upstream.dropConnections();
  expect(await fileDescriptorsBackTo(baseline)).toBeLessThanOrEqual(baseline);
}

function brief(records: readonly RequestRecord[]): unknown[] {
  return records.slice(0, 5).map((r) => ({
    request: `${r.request.method} ${r.request.path}`,
    startedAt: r.startedAt,
    durationMs: Math.round(r.durationMs),
    outcome: r.outcome,
  }));
}

for (const segment of SEGMENTS) {
  const secure = segment.upstream !== 'http';
  const tls = secure ? { ca: certs.ca.cert } : undefined;

  describe(`soak over ${segment.protocol}: ${segment.total} requests, ${CONCURRENCY} at a time, faults throughout`, () => {
    let upstream: ChaosUpstream;
    beforeAll(async () => {
      upstream = await startChaosUpstream(segment.upstream);
    });
    afterAll(() => upstream.close());

    if (segment.agents) {
      it('through the PooledAgent: every request ends in time, correct or with a known and explained error; stale ones are retried and succeed; nothing is left behind', async () => {
        // Everything this test opens from here on must be closed by its end.
        const baseline = openFileDescriptors();
        const pool = new ConnectionPool(POOL_OPTIONS);
        const events: PoolEvent[] = [];
        pool.events$.subscribe((event) => events.push(event));
        const agent = secure ? pool.httpsAgent({ tls }) : pool.httpAgent();
        const result = await soak(upstream, secure, segment.total, (origin) => nodeHttpClient({ name: 'PooledAgent', origin, agent, retryStaleOnce: true }));
        rows.push(row(segment.protocol, result));
        const findings = analyse(result);
        const summary = summarize(result.run);
        const count = (list: readonly unknown[]): number => list.length;
        console.log(
          `${segment.protocol} PooledAgent`,
          JSON.stringify({
            summary,
            faults: result.proxy.faultCounts(),
            findings: { ...findings, hung: count(findings.hung), unknownCodes: count(findings.unknownCodes), unexplained: count(findings.unexplained), staleNotRetried: count(findings.staleNotRetried), retryFailedUnexplained: count(findings.retryFailedUnexplained) },
            events: eventCounts(events),
          }),
        );

        expect(result.run.records).toHaveLength(segment.total);
        expect(brief(findings.hung)).toEqual([]);
        expect(slowestRunnableMs(result)).toBeLessThanOrEqual(TIMEOUT_MS + HANG_GRACE_MS);
        expect(summary.wrongBody).toBe(0);
        expect(brief(findings.unknownCodes)).toEqual([]);
        expect(brief(findings.unexplained)).toEqual([]);
        expect(findings.staleReuse).toEqual([]);
        expect(brief(findings.staleNotRetried)).toEqual([]);
        expect(brief(findings.retryFailedUnexplained)).toEqual([]);
        // The run met what it claims to test (else it proves nothing).
        expectCoverage(result, `${segment.protocol} PooledAgent`, () => {
          expect(findings.handOversChecked).toBeGreaterThan(segment.total / 2);
          expect(findings.staleFailures).toBeGreaterThan(0);
          expect(summary.ok).toBeGreaterThan(segment.total * 0.5);
        });
        expect(Object.keys(result.proxy.faultCounts()).length).toBeGreaterThanOrEqual(6);

        await expectNothingLeftBehind({ pool, events, trial: result, upstream, baseline });
      }, TEST_TIMEOUT_MS);
    }

    if (DISPATCHER_RUNS) {
      it('through pool.dispatcher(): every request ends in time, correct or with a known error; no idempotent request fails as stale (the dispatcher sends it again); nothing is left behind', async () => {
        const baseline = openFileDescriptors();
        const pool = new ConnectionPool(POOL_OPTIONS);
        const events: PoolEvent[] = [];
        pool.events$.subscribe((event) => events.push(event));
        const dispatcher = pool.dispatcher(tls ? { tls } : undefined);
        const result = await soak(upstream, secure, segment.total, (origin) =>
          undiciClient({ name: 'pool.dispatcher()', origin, dispatcher, retryPolicy: 'its own: once, on a new connection, when safe', onClose: () => dispatcher.close() }),
        );
        const retryEvents = events.filter((e) => e.type === 'retry').length;
        rows.push({ ...row(segment.protocol, result), retried: retryEvents, retriedOk: -1 });
        const summary = summarize(result.run);
        const records = result.run.records;
        const hung = records.filter((r) => r.outcome === 'hung');
        const failed = records.flatMap((r) => (r.outcome !== 'hung' && !r.outcome.ok ? [{ record: r, code: r.outcome.code }] : []));
        const unknown = failed.filter((f) => !KNOWN_DISPATCHER_CODES.has(f.code));
        const staleIdempotent = failed.filter((f) => f.code === 'ERR_STALE_CONNECTION' && isIdempotent(f.record.request.method));
        console.log(`${segment.protocol} pool.dispatcher()`, JSON.stringify({ summary, faults: result.proxy.faultCounts(), retryEvents, events: eventCounts(events) }));

        expect(records).toHaveLength(segment.total);
        expect(brief(hung)).toEqual([]);
        expect(slowestRunnableMs(result)).toBeLessThanOrEqual(TIMEOUT_MS + HANG_GRACE_MS);
        expect(summary.wrongBody).toBe(0);
        expect(brief(unknown.map((f) => f.record))).toEqual([]);
        expect(brief(staleIdempotent.map((f) => f.record))).toEqual([]);
        // It did meet stale connections, and sent requests again.
        expectCoverage(result, `${segment.protocol} pool.dispatcher()`, () => {
          expect(retryEvents).toBeGreaterThan(0);
          expect(summary.ok).toBeGreaterThan(segment.total * 0.5);
        });

        await expectNothingLeftBehind({ pool, events, trial: result, upstream, baseline });
      }, TEST_TIMEOUT_MS);
    }

    it(`through ${segment.agents ? 'plain http.Agent and plain undici' : 'plain undici (allowH2)'}, under the same load and faults (counted for comparison, not asserted)`, async () => {
      const results: Array<Trial & { client: Client }> = [];
      if (segment.agents) {
        const nodeAgent = secure
          ? new https.Agent({ keepAlive: true, maxSockets: CONNECTIONS, maxFreeSockets: CONNECTIONS, ca: certs.ca.cert })
          : new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS, maxFreeSockets: CONNECTIONS });
        results.push(
          await soak(upstream, secure, segment.total, (origin) =>
            nodeHttpClient({ name: 'http.Agent', origin, agent: nodeAgent, retryStaleOnce: true, onClose: () => nodeAgent.destroy() }),
          ),
        );
      }
      results.push(
        await soak(upstream, secure, segment.total, (origin) => {
          const dispatcher = new UndiciPool(origin, {
            connections: CONNECTIONS,
            connectTimeout: CONNECT_TIMEOUT_MS,
            ...(tls ? { connect: { ca: tls.ca } } : {}),
            ...(segment.upstream === 'h2' ? { allowH2: true } : {}),
          });
          return undiciClient({
            name: segment.upstream === 'h2' ? 'undici Pool (allowH2)' : 'undici Pool',
            origin,
            dispatcher,
            retryPolicy: 'none (undici does not resend a request that failed on a reused connection)',
            onClose: () => dispatcher.destroy(),
          });
        }),
      );
      for (const result of results) {
        await result.client.close();
        await result.proxy.close();
        rows.push(row(segment.protocol, result));
        console.log(`${segment.protocol} ${result.run.client}`, JSON.stringify(summarize(result.run)));
        // The comparison is only worth printing if the run went all the way.
        expect(result.run.records).toHaveLength(segment.total);
      }
    }, TEST_TIMEOUT_MS * 2);
  });
}
