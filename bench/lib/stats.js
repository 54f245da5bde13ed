// Shared helpers of the benchmarks: statistics, timing, heap, fakes, and table output.
// Plain ESM JavaScript; every bench imports the built package from ../dist.

/** Median of a list of numbers (the mean of the two middle ones for an even count). */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function min(values) {
  return Math.min(...values);
}

export function max(values) {
  return Math.max(...values);
}

/** Median, min and max of a list, as one object. */
export function summary(values) {
  return { median: median(values), min: min(values), max: max(values), n: values.length };
}

/** Nanoseconds now, from the monotonic high-resolution clock. */
export function nowNs() {
  return Number(process.hrtime.bigint());
}

/**
 * Times `batch(k)` (which runs k calls and returns the elapsed ns) and returns the median
 * ns per call over `batches` batches. k is first doubled until one batch lasts at least
 * `minBatchNs`, so that the clock's resolution and the cost of reading it do not count.
 */
export function nsPerCall(batch, { minBatchNs = 1e6, batches = 15, maxK = 1 << 24 } = {}) {
  let k = 1;
  for (;;) {
    const elapsed = batch(k);
    if (elapsed >= minBatchNs || k >= maxK) break;
    k = Math.min(maxK, elapsed <= 0 ? k * 16 : Math.max(k * 2, Math.ceil((k * minBatchNs * 1.2) / elapsed)));
  }
  const perCall = [];
  for (let i = 0; i < batches; i++) perCall.push(batch(k) / k);
  return median(perCall);
}

/** A full garbage collection; the benches run with --expose-gc. */
export function gc() {
  if (typeof globalThis.gc !== 'function') {
    throw new Error('run the benchmarks with node --expose-gc (npm run bench does)');
  }
  globalThis.gc();
  globalThis.gc();
}

/**
 * A full collection, then a pause while V8 sweeps the heap on its background threads. Timing
 * right after gc() times the sweeper too: with 100k connections in the heap, a loop run at
 * once measured 2-10x slower (and its process CPU time twice its own) than after a pause.
 */
export async function gcAndSettle(ms = 1000) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export function heapUsed() {
  return process.memoryUsage().heapUsed;
}

/** `rounds` from `--rounds N` or BENCH_ROUNDS, default `fallback`. */
export function roundsFromArgs(fallback = 5) {
  const i = process.argv.indexOf('--rounds');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.BENCH_ROUNDS;
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--rounds must be an integer >= 1, got ${raw}`);
  return n;
}

/** `[...list]` rotated left by `by`, so that the order of contenders changes every round. */
export function rotate(list, by) {
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/**
 * The fake transport the engine benches use: an object with a `close()` method (kept on the
 * prototype, so a transport is one small object), counting closes in `FakeTransport.closed`.
 */
export class FakeTransport {
  static closed = 0;
  close() {
    FakeTransport.closed++;
  }
}

/** One shared connector that resolves a new FakeTransport per connect. */
export const fakeConnector = {
  connect() {
    return Promise.resolve(new FakeTransport());
  },
};

/** The address every engine bench acquires. */
export const BENCH_URL = 'http://bench.test';

// ---- output ------------------------------------------------------------------------------

/** `1234.5` → `"1,235 ns"`, `"1.23 µs"` or `"1.23 ms"`, whichever reads best. */
export function formatNs(ns) {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns < 1_000) return `${ns.toFixed(ns < 100 ? 1 : 0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(ns < 10_000 ? 2 : 1)} µs`;
  return `${(ns / 1_000_000).toFixed(ns < 1e7 ? 2 : 1)} ms`;
}

export function formatBytes(bytes) {
  if (Math.abs(bytes) < 1024) return `${Math.round(bytes)} B`;
  return `${(bytes / 1024).toFixed(2)} KB`;
}

export function formatRatio(ratio) {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : String(ratio);
}

/** Prints rows (arrays of strings) under a header, columns padded; numbers right-aligned. */
export function printTable(title, header, rows) {
  const widths = header.map((h, c) => Math.max(String(h).length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) =>
    cells
      .map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c])))
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/**
 * Reports targets: prints them, and when run by bench/run.js (BENCH_REPORT=1) also emits one
 * machine-readable line that run.js collects for its summary.
 */
export function reportTargets(bench, targets) {
  printTable(
    `${bench}: targets`,
    ['target', 'measured', 'met'],
    targets.map((t) => [t.name, t.measured, t.met ? 'yes' : 'NO']),
  );
  if (process.env.BENCH_REPORT === '1') console.log(`#result ${JSON.stringify({ bench, targets })}`);
}

/** Runs `main` and exits non-zero on an unexpected error (not on a missed target). */
export function runMain(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
