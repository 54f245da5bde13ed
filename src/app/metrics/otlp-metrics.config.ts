import type { ConfigProblem } from '../config/config.error.js';
import { FIELD_TEXT } from '../http-grammar.js';

/** The OTLP/HTTP encodings the gateway can export in. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** How the gateway exports its metrics over OTLP (from the standard `OTEL_*` variables). */
export interface OtlpMetricsConfig {
  /** Where the metrics are POSTed (`.../v1/metrics`). */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  /** Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`): often a token, never shown. */
  readonly headers: Readonly<Record<string, string>>;
  /** How long one export request may take (ms). */
  readonly requestTimeoutMs: number;
  readonly compression: 'gzip' | 'none';
  readonly temporality: 'cumulative' | 'delta' | 'lowmemory';
  /** Time between two exports (ms). */
  readonly intervalMs: number;
  /** How long one collection and export may take (ms), at most `intervalMs`. */
  readonly exportTimeoutMs: number;
  /** Resource attributes: `service.name` (`OTEL_SERVICE_NAME`) and `OTEL_RESOURCE_ATTRIBUTES`. */
  readonly resource: Readonly<Record<string, string>>;
}

/** The `service.name` when `OTEL_SERVICE_NAME` is not set. */
export const DEFAULT_SERVICE_NAME = 'reactive-connection-pool';
/** Where an OTLP/HTTP receiver listens by default (an OpenTelemetry Collector's). */
const DEFAULT_ENDPOINT = 'http://localhost:4318';
const EXPORTERS = ['otlp', 'prometheus', 'none'];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the standard OpenTelemetry variables of the metrics exporter
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
 * null when the gateway does not export over OTLP, which is the case unless
 * `OTEL_METRICS_EXPORTER` names `otlp` or, with it unset, an OTLP endpoint is set.
 * `OTEL_SDK_DISABLED=true` turns it off. `/metrics` (Prometheus) is served either way.
 *
 * Problems are added to `problems` (the header values, which often hold a token, are never
 * shown), so that they are reported with the service's other configuration errors.
 */
export function readOtlpMetricsConfig(env: Env, problems: ConfigProblem[]): OtlpMetricsConfig | null {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const problem = (variable: string, expected: string, defaultText: string, secret = false): void => {
    const text = env[variable] ?? '';
    problems.push({ variable, shown: secret ? `(hidden, ${text.length} characters)` : JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text), expected, defaultText });
  };

  const disabled = read('OTEL_SDK_DISABLED');
  if (disabled !== undefined && !['true', 'false'].includes(disabled.toLowerCase())) problem('OTEL_SDK_DISABLED', "'true' or 'false'", 'false');
  const exporters = read('OTEL_METRICS_EXPORTER')?.split(',').map((e) => e.trim().toLowerCase());
  if (exporters !== undefined && exporters.some((e) => !EXPORTERS.includes(e))) {
    problem('OTEL_METRICS_EXPORTER', `a comma-separated list of ${EXPORTERS.map((e) => `'${e}'`).join(', ')} (Prometheus is always served on /metrics)`, 'otlp when an OTLP endpoint is set, else none');
  }
  const specificEndpoint = read('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  const endpoint = read('OTEL_EXPORTER_OTLP_ENDPOINT');
  const wanted = exporters === undefined ? specificEndpoint !== undefined || endpoint !== undefined : exporters.includes('otlp');
  if (!wanted || disabled?.toLowerCase() === 'true') return null;

  // The signal's own endpoint is used as it is; the general one gets the signal's path.
  let url: string | undefined;
  if (specificEndpoint !== undefined) {
    url = httpUrl(specificEndpoint);
    if (url === undefined) problem('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'an http: or https: URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318/v1/metrics', 'OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics');
  } else {
    const base = httpUrl(endpoint ?? DEFAULT_ENDPOINT);
    if (base === undefined) {
      problem('OTEL_EXPORTER_OTLP_ENDPOINT', 'an http: or https: URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318', DEFAULT_ENDPOINT);
    } else {
      const signal = new URL(base);
      signal.pathname = `${signal.pathname.endsWith('/') ? signal.pathname : `${signal.pathname}/`}v1/metrics`;
      url = signal.href;
    }
  }

  const protocolVariable = read('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = read(protocolVariable) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    problem(protocolVariable, "'http/protobuf' or 'http/json' ('grpc' is not supported by this service: an OpenTelemetry Collector takes OTLP/HTTP on port 4318)", 'http/protobuf');
  }

  const headersVariable = read('OTEL_EXPORTER_OTLP_METRICS_HEADERS') !== undefined ? 'OTEL_EXPORTER_OTLP_METRICS_HEADERS' : 'OTEL_EXPORTER_OTLP_HEADERS';
  const headers = keyValueList(read(headersVariable), FIELD_TEXT);
  if (headers === null) problem(headersVariable, 'a comma-separated list of name=value (values percent-encoded), e.g. authorization=Bearer%20<token>', 'none', true);

  const timeoutVariable = read('OTEL_EXPORTER_OTLP_METRICS_TIMEOUT') !== undefined ? 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const requestTimeoutMs = milliseconds(read(timeoutVariable), 10_000);
  if (requestTimeoutMs === null) problem(timeoutVariable, 'an integer number of milliseconds >= 1', '10000');

  const compressionVariable = read('OTEL_EXPORTER_OTLP_METRICS_COMPRESSION') !== undefined ? 'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION' : 'OTEL_EXPORTER_OTLP_COMPRESSION';
  const compression = read(compressionVariable) ?? 'none';
  if (compression !== 'gzip' && compression !== 'none') problem(compressionVariable, "'gzip' or 'none'", 'none');

  const temporality = (read('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE') ?? 'cumulative').toLowerCase();
  if (temporality !== 'cumulative' && temporality !== 'delta' && temporality !== 'lowmemory') {
    problem('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', "'cumulative', 'delta' or 'lowmemory'", 'cumulative');
  }

  const intervalMs = milliseconds(read('OTEL_METRIC_EXPORT_INTERVAL'), 60_000);
  if (intervalMs === null) problem('OTEL_METRIC_EXPORT_INTERVAL', 'an integer number of milliseconds >= 1', '60000');
  const exportTimeoutMs = milliseconds(read('OTEL_METRIC_EXPORT_TIMEOUT'), 30_000);
  if (exportTimeoutMs === null) problem('OTEL_METRIC_EXPORT_TIMEOUT', 'an integer number of milliseconds >= 1', '30000');

  const resourceAttributes = keyValueList(read('OTEL_RESOURCE_ATTRIBUTES'));
  if (resourceAttributes === null) problem('OTEL_RESOURCE_ATTRIBUTES', 'a comma-separated list of key=value (values percent-encoded), e.g. deployment.environment.name=prod', 'none');

  if (url === undefined || headers === null || requestTimeoutMs === null || intervalMs === null || exportTimeoutMs === null || resourceAttributes === null) return null;
  return {
    url,
    protocol: protocol as OtlpProtocol,
    headers,
    requestTimeoutMs,
    compression: compression as 'gzip' | 'none',
    temporality: temporality as OtlpMetricsConfig['temporality'],
    intervalMs,
    // The SDK refuses an export timeout longer than the interval: the interval bounds it, as the spec's defaults imply.
    exportTimeoutMs: Math.min(exportTimeoutMs, intervalMs),
    resource: { 'service.name': DEFAULT_SERVICE_NAME, ...resourceAttributes, ...(read('OTEL_SERVICE_NAME') === undefined ? {} : { 'service.name': read('OTEL_SERVICE_NAME') as string }) },
  };
}

/** `text` as an http:/https: URL string, or undefined. */
function httpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function milliseconds(text: string | undefined, fallback: number): number | null {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 1 ? value : null;
}

/** `k1=v1,k2=v2` (W3C Baggage-like, values percent-encoded), or null if it does not parse. */
function keyValueList(text: string | undefined, valuePattern?: RegExp): Record<string, string> | null {
  const result: Record<string, string> = {};
  if (text === undefined) return result;
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const equals = entry.indexOf('=');
    if (equals <= 0) return null;
    const key = entry.slice(0, equals).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) return null;
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {
      return null;
    }
    if (valuePattern !== undefined && !valuePattern.test(value)) return null;
    result[key] = value;
  }
  return result;
}
