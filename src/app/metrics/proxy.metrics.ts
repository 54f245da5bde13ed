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
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

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

  constructor(registry: Registry) {
    this.#registry = registry;
    this.#requests = new Counter({
      name: 'gateway_proxy_requests_total',
      help: 'Requests proxied to the upstream, by method, status answered and outcome.',
      labelNames: ['method', 'status', 'outcome'],
      registers: [registry],
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
    const upper = method.toUpperCase();
    this.#requests.inc({ method: KNOWN_METHODS.has(upper) ? upper : 'OTHER', status: String(status), outcome });
    this.#duration.observe({ outcome }, seconds);
    if (this.#listeners.size > 0) {
      const request: ProxiedRequest = { method, status, outcome, seconds };
      for (const listener of this.#listeners) listener(request);
    }
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
