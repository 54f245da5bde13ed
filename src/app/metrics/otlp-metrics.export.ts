import { Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { ValueType, type Attributes, type Histogram } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ConnectionPool } from '../../http/index.js';
import { instrumentConnectionPool, type ConnectionPoolInstrumentation } from '../../opentelemetry/index.js';
import type { OtlpMetricsConfig } from './otlp-metrics.config.js';
import { ProxyMetrics, type ProxiedRequest } from './proxy.metrics.js';

/** `http.server.request.duration`'s buckets, as the HTTP conventions advise (seconds). */
const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);
/** How long the last export may hold up the shutdown, at most (ms). */
const SHUTDOWN_FLUSH_MS = 5_000;
const TEMPORALITY = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
} as const;

/**
 * The gateway's metrics over OTLP/HTTP, with the official SDK, when the `OTEL_*` variables
 * ask for it (see `readOtlpMetricsConfig`): the pool's instruments
 * (`reactive-connection-pool/opentelemetry`) and the proxy's requests as
 * `http.server.request.duration`. A `PeriodicExportingMetricReader` exports every
 * `OTEL_METRIC_EXPORT_INTERVAL`, and once more on shutdown. Prometheus' `/metrics` is
 * untouched. An export that fails is logged once (not at every interval) and again when
 * exports work again; the URL is logged without credentials or query.
 */
export class OtlpMetricsExport implements OnApplicationShutdown {
  /** The providers to add to the application: none when OTLP is not configured. */
  static providers(config: OtlpMetricsConfig | null): Provider[] {
    if (config === null) return [];
    return [{ provide: OtlpMetricsExport, useFactory: (pool: ConnectionPool, proxy: ProxyMetrics) => new OtlpMetricsExport(config, pool, proxy), inject: [ConnectionPool, ProxyMetrics] }];
  }

  readonly meterProvider: MeterProvider;
  readonly #instrumentation: ConnectionPoolInstrumentation;
  readonly #stopProxy: () => void;
  readonly #requestDuration: Histogram;
  #shutdown: Promise<void> | undefined;

  constructor(config: OtlpMetricsConfig, pool: ConnectionPool, proxy: ProxyMetrics) {
    const options = {
      url: config.url,
      headers: { ...config.headers },
      timeoutMillis: config.requestTimeoutMs,
      compression: config.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
      temporalityPreference: TEMPORALITY[config.temporality],
    };
    const exporter = config.protocol === 'http/json' ? new JsonMetricExporter(options) : new ProtobufMetricExporter(options);
    const reader = new PeriodicExportingMetricReader({
      exporter: new LoggingExporter(exporter, shownUrl(config.url), config.intervalMs),
      exportIntervalMillis: config.intervalMs,
      exportTimeoutMillis: config.exportTimeoutMs,
    });
    this.meterProvider = new MeterProvider({ resource: resourceFromAttributes(config.resource), readers: [reader] });
    this.#instrumentation = instrumentConnectionPool(pool, { meterProvider: this.meterProvider });
    this.#requestDuration = this.meterProvider.getMeter('reactive-connection-pool-gateway').createHistogram('http.server.request.duration', {
      unit: 's',
      valueType: ValueType.DOUBLE,
      description: 'Duration of the requests the gateway proxied, from arrival to the end of the response.',
      advice: { explicitBucketBoundaries: REQUEST_DURATION_BUCKETS },
    });
    this.#stopProxy = proxy.onRequest((request) => this.#requestDuration.record(request.seconds, requestAttributes(request)));
  }

  /** Stops measuring and exports what is left (bounded, so that a receiver that is down cannot hold the shutdown). */
  onApplicationShutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#stopProxy();
      // The last collection still reads the pool; then the instrumentation lets it go.
      await this.meterProvider.shutdown({ timeoutMillis: SHUTDOWN_FLUSH_MS }).catch(() => undefined);
      this.#instrumentation.dispose();
    })();
    return this.#shutdown;
  }
}

/** The semantic conventions' attributes of one proxied request (low cardinality: methods and routes are bounded). */
function requestAttributes(request: ProxiedRequest): Attributes {
  const method = request.method.toUpperCase();
  return {
    'http.request.method': KNOWN_METHODS.has(method) ? method : '_OTHER',
    'http.route': '/proxy/*',
    'url.scheme': 'http',
    'http.response.status_code': request.status,
    ...(request.outcome === 'ok' ? {} : { 'error.type': request.outcome }),
  };
}

/** Where the metrics go, as the logs may show it: no credentials, no query. */
function shownUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** The exporter, telling the log when exports start failing and when they work again. */
class LoggingExporter implements PushMetricExporter {
  readonly #logger = new Logger('OtlpMetrics');
  #failing = false;

  constructor(
    readonly inner: PushMetricExporter,
    readonly url: string,
    readonly intervalMs: number,
  ) {
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
    if (inner.selectAggregation) this.selectAggregation = inner.selectAggregation.bind(inner);
  }

  readonly selectAggregationTemporality?: PushMetricExporter['selectAggregationTemporality'];
  readonly selectAggregation?: PushMetricExporter['selectAggregation'];

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    this.inner.export(metrics, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        if (this.#failing) this.#logger.log(`Metrics export to ${this.url} works again`);
        this.#failing = false;
      } else if (!this.#failing) {
        this.#failing = true;
        this.#logger.warn(`Metrics export to ${this.url} failed (${reasonOf(result.error)}); trying again every ${this.intervalMs} ms`);
      }
      done(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** A short reason, without anything the error may quote of the request (headers, URL). */
function reasonOf(error: Error | undefined): string {
  if (error === undefined) return 'no reason given';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') return `${error.name} ${code}`;
  return error.name;
}
