import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { LoadSummary } from './load.js';

/**
 * Where the chaos suites leave their numbers: `test-artifacts/chaos/` (ignored by git), as JSON
 * and as the Markdown table that goes into `bench/RESULTS.md`. The suites never write to
 * `bench/RESULTS.md` themselves: other sections of it are written by hand and by other tools.
 */
export const RESULTS_DIR = join(process.cwd(), 'test-artifacts', 'chaos');

/**
 * One row of the comparison: a client over one protocol, with the faults it met. A client that
 * retries by itself (the dispatcher) has `retriedOk` -1: `retried` then counts the pool's
 * `retry` events, and whether each retry succeeded is not known from outside.
 */
export interface ResultRow extends LoadSummary {
  readonly protocol: string;
  /** Faults the proxy injected during this client's run, by kind. */
  readonly faults: Readonly<Record<string, number>>;
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} (${process.platform} ${process.arch})`;
}

function codes(byCode: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byCode).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '—' : entries.map(([code, n]) => `${code} ${n}`).join(', ');
}

/** The Markdown table of `rows`. */
export function markdownTable(rows: readonly ResultRow[]): string {
  const header =
    '| client | protocol | requests | ok | failed | failures by code | stale 1st attempts | retried → ok | hung | wrong body | p50 / p99 / max ms | wall s |\n' +
    '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.client} | ${r.protocol} | ${r.requests} | ${r.ok} | ${r.failed} (${((100 * r.failed) / Math.max(1, r.requests)).toFixed(2)} %) | ${codes(r.failuresByCode)} | ${r.staleFailures} | ${r.retriedOk < 0 ? `${r.retried} (its own)` : `${r.retried} → ${r.retriedOk}`} | ${r.hung} | ${r.wrongBody} | ${r.p50Ms} / ${r.p99Ms} / ${r.maxMs} | ${(r.wallMs / 1000).toFixed(1)} |`,
      )
      .join('\n') +
    '\n'
  );
}

/** Writes the run's rows (JSON and Markdown) to {@link RESULTS_DIR}; returns the Markdown path. */
export function saveResults(name: string, rows: readonly ResultRow[], context: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const at = new Date().toISOString();
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify({ at, machine: machine(), ...context, rows }, null, 2)}\n`);
  const faults = rows.map((r) => `- ${r.client} (${r.protocol}): ${codes(r.faults)}`).join('\n');
  const markdown =
    `Run ${at} on ${machine()}.\n\n` +
    `${Object.entries(context)
      .map(([key, value]) => `- ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join('\n')}\n\n` +
    markdownTable(rows) +
    `\nFaults injected per run:\n${faults}\n`;
  const path = join(RESULTS_DIR, `${name}.md`);
  writeFileSync(path, markdown);
  return path;
}
