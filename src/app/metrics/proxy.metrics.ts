import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';

/** How a proxied request ended. */
export type ProxyOutcome =
  /** The upstream's response was passed on to the end. */
  | 'ok'
  /** The proxy answered in the upstream's place: 502, 503 or 504. */
  | 'upstream_error'
  /** The client or the upstream went away mid-response. */
  | 'aborted'
  /** The request was refused before reaching the upstream (a path that may not be forwarded). */
  | 'rejected';

/** One proxied request, as {@link ProxyMetrics.observe} records it. */
export interface ProxiedRequest {
  readonly method: string;
  readonly status: number;
  readonly outcome: ProxyOutcome;
  readonly seconds: number;
}

/** Methods kept as label values; any other counts as `OTHER`, so that clients cannot add series. */
const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const;
const OTHER_METHOD = METHOD_LABELS.length - 1;
const METHOD_INDEX = new Map<string, number>(METHOD_LABELS.slice(0, OTHER_METHOD).map((method, index) => [method, index]));

const OUTCOMES: readonly ProxyOutcome[] = ['ok', 'upstream_error', 'aborted', 'rejected'];
const OUTCOME_INDEX = new Map<ProxyOutcome, number>(OUTCOMES.map((outcome, index) => [outcome, index]));
/** The histogram's label sets, made once (prom-client reads them, it does not keep them). */
const OUTCOME_LABELS: Readonly<Record<ProxyOutcome, { readonly outcome: ProxyOutcome }>> = {
  ok: { outcome: 'ok' },
  upstream_error: { outcome: 'upstream_error' },
  aborted: { outcome: 'aborted' },
  rejected: { outcome: 'rejected' },
};

function methodIndexOf(method: string): number {
  return METHOD_INDEX.get(method) ?? METHOD_INDEX.get(method.toUpperCase()) ?? OTHER_METHOD;
}

/**
 * The proxy's own metrics, next to the pool's: `gateway_proxy_requests_total{method,status,outcome}`
 * and `gateway_proxy_request_duration_seconds{outcome}` (from the request's arrival to the
 * end of its response).
 */
@Injectable()
export class ProxyMetrics implements OnApplicationShutdown {
  readonly #registry: Registry;
  readonly #requests: Counter<'method' | 'status' | 'outcome'>;
  readonly #duration: Histogram<'outcome'>;
  readonly #listeners = new Set<(request: ProxiedRequest) => void>();
  /**
   * Requests not yet added to the counter, by label set (a number: status, method and outcome
   * indexes): a Map increment per request, and prom-client's `inc()` (which builds and hashes
   * its label set) once per label set per scrape, in the counter's `collect()`. At most one
   * entry per series, as in the counter itself.
   */
  readonly #uncounted = new Map<number, number>();

  constructor(registry: Registry) {
    this.#registry = registry;
    this.#requests = new Counter({
      name: 'gateway_proxy_requests_total',
      help: 'Requests proxied to the upstream, by method, status answered and outcome.',
      labelNames: ['method', 'status', 'outcome'],
      registers: [registry],
      collect: () => this.#count(),
    });
    this.#duration = new Histogram({
      name: 'gateway_proxy_request_duration_seconds',
      help: 'Time from a proxied request arriving to its response ending, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  /** Records one proxied request. */
  observe(method: string, status: number, outcome: ProxyOutcome, seconds: number): void {
    const series = (status * METHOD_LABELS.length + methodIndexOf(method)) * OUTCOMES.length + (OUTCOME_INDEX.get(outcome) as number);
    this.#uncounted.set(series, (this.#uncounted.get(series) ?? 0) + 1);
    this.#duration.observe(OUTCOME_LABELS[outcome], seconds);
    if (this.#listeners.size > 0) {
      const request: ProxiedRequest = { method, status, outcome, seconds };
      for (const listener of this.#listeners) listener(request);
    }
  }

  /** Adds the requests recorded since the last scrape to the counter (its `collect()`). */
  #count(): void {
    for (const [series, requests] of this.#uncounted) {
      const outcome = OUTCOMES[series % OUTCOMES.length] as ProxyOutcome;
      const rest = Math.floor(series / OUTCOMES.length);
      const method = METHOD_LABELS[rest % METHOD_LABELS.length] as string;
      const status = String(Math.floor(rest / METHOD_LABELS.length));
      this.#requests.inc({ method, status, outcome }, requests);
    }
    this.#uncounted.clear();
  }

  /** Tells `listener` of every request recorded from now on (the OTLP export does); returns what stops it. */
  onRequest(listener: (request: ProxiedRequest) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Leaves the registry as it found it (the names can be registered again). */
  onApplicationShutdown(): void {
    this.#registry.removeSingleMetric('gateway_proxy_requests_total');
    this.#registry.removeSingleMetric('gateway_proxy_request_duration_seconds');
  }
}
