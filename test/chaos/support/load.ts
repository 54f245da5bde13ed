import { SeededRandom } from '../../support/seeded-random.js';
import { isStaleConnectionFailure, type ChaosRequest, type Client, type ClientOutcome } from './clients.js';

/**
 * The load driver: `total` requests through a {@link Client}, `concurrency` at a time, each
 * with a deadline, each request (method, size, body) drawn from the seed so that every client
 * of a comparison gets exactly the same load. It never waits on anything but the requests and
 * the workers' think time (real time: this is real-network chaos, and every wait is bounded).
 */

/** What the load asks of the upstream: `/r/<index>?size=<bytes>`. */
export interface PlannedRequest {
  readonly index: number;
  readonly method: ChaosRequest['method'];
  readonly path: string;
  readonly body?: string;
  /** The body a correct response has (see {@link responseBody}). */
  readonly expectedBody: string;
}

/**
 * The upstream's answer to `/r/<index>?size=<n>`: names the request, so that a response read
 * on the wrong connection (another request's, or a stale one) is caught, and fills up to `n`.
 */
export function responseBody(index: number, method: string, requestBodyLength: number, size: number): string {
  const head = `${index}:${method}:${requestBodyLength}:`;
  if (method === 'HEAD') return '';
  return head + '.'.repeat(Math.max(0, size - head.length));
}

/** The request `index` of a load seeded with `seed`: mostly small GETs, some large bodies, some writes. */
export function planRequest(seed: number, index: number): PlannedRequest {
  const random = SeededRandom.forStream(seed, index);
  const roll = random.next();
  const method: PlannedRequest['method'] = roll < 0.7 ? 'GET' : roll < 0.78 ? 'HEAD' : roll < 0.86 ? 'PUT' : roll < 0.92 ? 'DELETE' : 'POST';
  // Mostly one segment; one in twenty spans many, so that resets land inside bodies too.
  const size = random.chance(0.05) ? random.int(16_384, 65_536) : random.int(0, 2_048);
  const body = method === 'PUT' || method === 'POST' ? `b${index}`.repeat(random.int(1, 200)) : undefined;
  return {
    index,
    method,
    path: `/r/${index}?size=${size}`,
    ...(body !== undefined ? { body } : {}),
    expectedBody: responseBody(index, method, body?.length ?? 0, size),
  };
}

/** One request's fate. */
export interface RequestRecord {
  /** The request, without its bodies (a long soak cannot keep them all). */
  readonly request: Pick<PlannedRequest, 'index' | 'method' | 'path'>;
  readonly startedAt: number;
  readonly durationMs: number;
  /**
   * `'hung'`: it had not ended `hangGraceMs` past its deadline. A successful outcome's body is
   * checked as it arrives and replaced by its length (see `correct`).
   */
  readonly outcome: ClientOutcome | 'hung';
  /** For a successful outcome: whether it was status 200 with exactly the body asked for. */
  readonly correct?: boolean;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  readonly total: number;
  readonly concurrency: number;
  readonly seed: number;
  /** Each request's deadline (ms): the client is told to give up then. */
  readonly timeoutMs: number;
  /** How long past its deadline a request may take to end before it counts as hung (event-loop lag under load). */
  readonly hangGraceMs: number;
  /** Each worker waits up to this long (seeded) between its requests, so that connections sit idle now and then. */
  readonly maxThinkMs: number;
  /**
   * After a failed request its worker waits this long, as a client backs off after an error:
   * an outage is then met by a bounded number of requests, not a tight loop of instant failures.
   */
  readonly failureBackoffMs: number;
  /** Called each time a request ends, with how many have: the place to inject faults on a schedule. */
  readonly onProgress?: (completed: number) => void;
}

/** What a run through one client came to. */
export interface LoadRun {
  readonly client: string;
  readonly retryPolicy: string;
  readonly records: readonly RequestRecord[];
  readonly wallMs: number;
}

/** Runs the load through `client`; resolves when every request has ended (or been declared hung). */
export async function runLoad(client: Client, options: LoadOptions): Promise<LoadRun> {
  const records: RequestRecord[] = [];
  let next = 0;
  let completed = 0;
  const started = performance.now();

  async function one(request: PlannedRequest): Promise<RequestRecord> {
    const abort = new AbortController();
    let backstop: NodeJS.Timeout | undefined;
    let declareHung: (hung: 'hung') => void = () => undefined;
    const hung = new Promise<'hung'>((resolve) => {
      declareHung = resolve;
    });
    const deadline = setTimeout(() => {
      abort.abort(new Error(`deadline of ${options.timeoutMs} ms`));
      // The grace counts from the moment the request is told to give up, not from when that was
      // due: on a loaded machine this timer itself runs late, and both timers would otherwise
      // fire in the same turn, the request declared hung before its abort could end it.
      backstop = setTimeout(() => declareHung('hung'), options.hangGraceMs);
    }, options.timeoutMs);
    const startedAt = Date.now();
    const t0 = performance.now();
    const sent = client.send({
      method: request.method,
      path: request.path,
      ...(request.body !== undefined ? { body: request.body } : {}),
      signal: abort.signal,
    });
    try {
      const outcome = await Promise.race([sent, hung]);
      const durationMs = performance.now() - t0;
      const summary = { index: request.index, method: request.method, path: request.path };
      if (outcome === 'hung' || !outcome.ok) return { request: summary, startedAt, durationMs, outcome };
      const correct = outcome.status === 200 && outcome.body === request.expectedBody;
      return { request: summary, startedAt, durationMs, outcome: { ...outcome, body: `(${outcome.body.length} bytes)` }, correct };
    } finally {
      clearTimeout(deadline);
      clearTimeout(backstop);
    }
  }

  async function worker(id: number): Promise<void> {
    const think = SeededRandom.forStream(options.seed ^ 0x5eed, id);
    while (next < options.total) {
      const request = planRequest(options.seed, next++);
      const record = await one(request);
      records.push(record);
      completed++;
      options.onProgress?.(completed);
      const failed = record.outcome === 'hung' || !record.outcome.ok;
      const pause = (options.maxThinkMs > 0 ? think.int(0, options.maxThinkMs) : 0) + (failed ? options.failureBackoffMs : 0);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, (_, id) => worker(id)));
  records.sort((a, b) => a.request.index - b.request.index);
  return { client: client.name, retryPolicy: client.retryPolicy, records, wallMs: performance.now() - started };
}

/** The numbers of one run, for the results table. */
export interface LoadSummary {
  readonly client: string;
  readonly retryPolicy: string;
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly hung: number;
  /** Successful responses whose body was not the one asked for (must be 0 for any sane client). */
  readonly wrongBody: number;
  readonly failuresByCode: Readonly<Record<string, number>>;
  /** First attempts that failed on a stale reused connection (reusedSocket + ECONNRESET, no response byte). */
  readonly staleFailures: number;
  /** Requests sent a second time, and how many of those then succeeded. */
  readonly retried: number;
  readonly retriedOk: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly wallMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] as number;
}

export function summarize(run: LoadRun): LoadSummary {
  const failuresByCode: Record<string, number> = {};
  let ok = 0;
  let hung = 0;
  let wrongBody = 0;
  let staleFailures = 0;
  let retried = 0;
  let retriedOk = 0;
  for (const record of run.records) {
    const outcome = record.outcome;
    if (outcome === 'hung') {
      hung++;
      continue;
    }
    const first = outcome.attempts[0];
    if (first !== undefined && isStaleConnectionFailure(first)) staleFailures++;
    if (outcome.attempts.length > 1) {
      retried++;
      if (outcome.ok) retriedOk++;
    }
    if (outcome.ok) {
      ok++;
      if (record.correct !== true) wrongBody++;
    } else {
      failuresByCode[outcome.code] = (failuresByCode[outcome.code] ?? 0) + 1;
    }
  }
  const durations = run.records.map((record) => record.durationMs).sort((a, b) => a - b);
  return {
    client: run.client,
    retryPolicy: run.retryPolicy,
    requests: run.records.length,
    ok,
    failed: run.records.length - ok - hung,
    hung,
    wrongBody,
    failuresByCode,
    staleFailures,
    retried,
    retriedOk,
    p50Ms: Math.round(percentile(durations, 0.5)),
    p99Ms: Math.round(percentile(durations, 0.99)),
    maxMs: Math.round(durations[durations.length - 1] ?? 0),
    wallMs: Math.round(run.wallMs),
  };
}
