import type { BalanceMode } from '../../transport/index.js';
import { RESERVED_ROUTE_PREFIXES, RESERVED_ROUTES } from '../routes.js';
import { AppConfigError, type ConfigProblem } from './config.error.js';
import { EnvValueError, type EnvVariable } from './env-variable.js';
import { readOtlpMetricsConfig, type OtlpMetricsConfig } from '../metrics/otlp-metrics.config.js';
import { ENV_VARIABLE_NAMES, ENV_VARIABLES, type LogFormat, type LogLevel, type ParsedEnv, type UpstreamHttp2Mode } from './env-variables.js';

/** The upstream the proxy forwards to, when it is not the embedded one. */
export interface UpstreamConfig {
  /** Origin and optional base path (`https://api.example.com/v1`). */
  readonly url: URL;
  /** PEM CA certificate(s) to trust for an https: upstream, instead of Node's. */
  readonly ca: string | undefined;
}

/** The pool's settings, in milliseconds. */
export interface PoolConfig {
  readonly maxIdleConnections: number;
  readonly keepAliveMs: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxConnections: number;
  readonly acquireTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly leakDetectionThresholdMs: number | undefined;
  /** `POOL_MAX_LIFETIME`: Infinity for none. */
  readonly maxLifetimeMs: number;
}

/** What clients may do with their connections, in milliseconds. */
export interface ClientLimitsConfig {
  /** Connections open at once (`Infinity`: no cap). */
  readonly maxConnections: number;
  /** Time to send a complete request head. */
  readonly headersTimeoutMs: number;
  /** Time to send a whole request (`Infinity`: no limit). */
  readonly requestTimeoutMs: number;
}

/** The service's configuration, validated. */
export interface AppConfig {
  readonly port: number;
  readonly host: string;
  /** null: start the embedded upstream and forward to it. */
  readonly upstream: UpstreamConfig | null;
  readonly upstreamTimeoutMs: number;
  /**
   * `UPSTREAM_HTTP2`: 'never' keeps the HTTP/1.1 client over the `PooledAgent`; 'auto' and
   * 'always' use the client over the pool's undici dispatcher (HTTP/2 by ALPN for https:).
   */
  readonly upstreamHttp2: UpstreamHttp2Mode;
  /** `UPSTREAM_BALANCE`: how new upstream connections spread over the addresses its name resolves to. */
  readonly upstreamBalance: BalanceMode;
  readonly pool: PoolConfig;
  readonly drainTimeoutMs: number;
  /** Enables the admin API; a secret. */
  readonly adminToken: string | undefined;
  /** The event stream's route, without a leading slash. */
  readonly eventsPath: string;
  /** Event streams (pool events and cleanup ticks) open at once. */
  readonly eventStreamsMax: number;
  /** `TRUST_PROXY`: whether client-sent `Forwarded` / `X-Forwarded-*` come from a trusted proxy. */
  readonly trustProxy: boolean;
  /** The limits on client connections. */
  readonly clients: ClientLimitsConfig;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** The OTLP export of the metrics (the standard `OTEL_*` variables), or null: Prometheus' /metrics only. */
  readonly otlpMetrics: OtlpMetricsConfig | null;
  /** Things worth telling the operator that do not stop the service (an unknown `POOL_*` variable). */
  readonly warnings: readonly string[];
}

/** Variables with these prefixes are ours: an unknown one is probably a typo. */
const OWN_PREFIXES = ['POOL_', 'UPSTREAM_', 'CLIENT_'];

/**
 * Reads and validates the configuration from `env` (normally `process.env`).
 *
 * @throws AppConfigError listing every bad variable, its value (never a secret's), what was
 * expected and the default.
 */
export function loadAppConfig(env: Readonly<Record<string, string | undefined>>): AppConfig {
  const problems: ConfigProblem[] = [];
  const parsed: Record<string, unknown> = {};
  for (const name of ENV_VARIABLE_NAMES) {
    const variable: EnvVariable<unknown> = ENV_VARIABLES[name];
    const given = env[name]?.trim();
    const text = given === undefined || given === '' ? variable.default : given;
    if (text === undefined) continue;
    try {
      parsed[name] = variable.parse(text);
    } catch (error) {
      if (!(error instanceof EnvValueError)) throw error;
      problems.push({ variable: name, shown: show(variable, text), expected: error.expected, defaultText: stripTicks(variable.defaultText) });
    }
  }
  const values = parsed as unknown as ParsedEnv;

  if (values.UPSTREAM_CA_FILE !== undefined && values.UPSTREAM_URL?.protocol !== 'https:' && !isProblem(problems, 'UPSTREAM_URL')) {
    problems.push({
      variable: 'UPSTREAM_CA_FILE',
      shown: JSON.stringify(values.UPSTREAM_CA_FILE.path),
      expected: 'to be set only with an https: UPSTREAM_URL (it says which CA signed the upstream certificate)',
      defaultText: stripTicks(ENV_VARIABLES.UPSTREAM_CA_FILE.defaultText),
    });
  }
  if (values.UPSTREAM_HTTP2 === 'always' && values.UPSTREAM_URL?.protocol === 'http:') {
    problems.push({
      variable: 'UPSTREAM_HTTP2',
      shown: JSON.stringify(env.UPSTREAM_HTTP2 ?? ''),
      expected: "'auto' or 'never' with an http: UPSTREAM_URL (HTTP/2 is negotiated over TLS only: there is no h2c)",
      defaultText: stripTicks(ENV_VARIABLES.UPSTREAM_HTTP2.defaultText),
    });
  }
  const eventsPath = values.EVENTS_PATH;
  if (eventsPath !== undefined && isReserved(eventsPath)) {
    problems.push({
      variable: 'EVENTS_PATH',
      shown: JSON.stringify(env.EVENTS_PATH ?? ''),
      expected: `a route the service does not use already (not /, /pool, nor under ${RESERVED_ROUTE_PREFIXES.map((p) => `/${p}`).join(', ')})`,
      defaultText: stripTicks(ENV_VARIABLES.EVENTS_PATH.defaultText),
    });
  }
  const otlpMetrics = readOtlpMetricsConfig(env, problems);
  if (values.CLIENT_HEADERS_TIMEOUT !== undefined && values.CLIENT_REQUEST_TIMEOUT !== undefined && values.CLIENT_HEADERS_TIMEOUT > values.CLIENT_REQUEST_TIMEOUT) {
    problems.push({
      variable: 'CLIENT_HEADERS_TIMEOUT',
      shown: JSON.stringify(env.CLIENT_HEADERS_TIMEOUT ?? ''),
      expected: `at most CLIENT_REQUEST_TIMEOUT (${env.CLIENT_REQUEST_TIMEOUT?.trim() || ENV_VARIABLES.CLIENT_REQUEST_TIMEOUT.default}): the head is part of the request`,
      defaultText: stripTicks(ENV_VARIABLES.CLIENT_HEADERS_TIMEOUT.defaultText),
    });
  }
  if (problems.length > 0) throw new AppConfigError(problems);

  return {
    port: values.PORT,
    host: values.HOST,
    upstream: values.UPSTREAM_URL === undefined ? null : { url: values.UPSTREAM_URL, ca: values.UPSTREAM_CA_FILE?.pem },
    upstreamTimeoutMs: values.UPSTREAM_TIMEOUT,
    upstreamHttp2: values.UPSTREAM_HTTP2,
    upstreamBalance: values.UPSTREAM_BALANCE,
    pool: {
      maxIdleConnections: values.POOL_MAX_IDLE,
      keepAliveMs: values.POOL_KEEP_ALIVE,
      maxConnectionsPerAddress: values.POOL_MAX_PER_ADDRESS,
      maxConnections: values.POOL_MAX_CONNECTIONS,
      acquireTimeoutMs: values.POOL_ACQUIRE_TIMEOUT,
      connectTimeoutMs: values.POOL_CONNECT_TIMEOUT,
      leakDetectionThresholdMs: values.POOL_LEAK_DETECTION,
      maxLifetimeMs: values.POOL_MAX_LIFETIME,
    },
    drainTimeoutMs: values.DRAIN_TIMEOUT,
    adminToken: values.ADMIN_TOKEN,
    eventsPath: values.EVENTS_PATH,
    eventStreamsMax: values.EVENT_STREAMS_MAX,
    trustProxy: values.TRUST_PROXY,
    clients: {
      maxConnections: values.CLIENT_MAX_CONNECTIONS,
      headersTimeoutMs: values.CLIENT_HEADERS_TIMEOUT,
      requestTimeoutMs: values.CLIENT_REQUEST_TIMEOUT,
    },
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT,
    otlpMetrics,
    warnings: unknownVariableWarnings(env),
  };
}

function show(variable: EnvVariable<unknown>, text: string): string {
  if (variable.secret) return `(hidden, ${text.length} characters)`;
  const shown = variable.redact === undefined ? text : variable.redact(text);
  const quoted = JSON.stringify(shown.length > 200 ? `${shown.slice(0, 200)}…` : shown);
  return shown === text ? quoted : `${quoted} (credentials and query not shown)`;
}

function stripTicks(text: string): string {
  return text.replace(/`/g, '');
}

function isProblem(problems: readonly ConfigProblem[], variable: string): boolean {
  return problems.some((p) => p.variable === variable);
}

function isReserved(path: string): boolean {
  return RESERVED_ROUTES.includes(path) || RESERVED_ROUTE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * Unknown variables with our prefixes. Warnings, not errors: Kubernetes adds `<SERVICE>_PORT`
 * style variables for every Service of the namespace, and a Service named "pool" would
 * otherwise stop the pods from starting.
 */
function unknownVariableWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  const known: readonly string[] = ENV_VARIABLE_NAMES;
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!OWN_PREFIXES.some((prefix) => name.startsWith(prefix)) || known.includes(name)) continue;
    const closest = closestName(name, known);
    warnings.push(`${name} is not a variable this service reads${closest === undefined ? '' : ` (did you mean ${closest}?)`}; it is ignored.`);
  }
  return warnings;
}

function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
