import { BALANCE_MODES } from '../../transport/index.js';
import {
  bearerToken,
  boolean,
  duration,
  host,
  integer,
  oneOf,
  optional,
  pemFile,
  port,
  routePath,
  upstreamUrl,
  urlWithoutSecrets,
  withDefault,
  type EnvVariable,
} from './env-variable.js';

/** The log levels of `LOG_LEVEL`, from the quietest. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The values of `UPSTREAM_HTTP2`. */
export const UPSTREAM_HTTP2_MODES = ['auto', 'always', 'never'] as const;
/** One of {@link UPSTREAM_HTTP2_MODES}. */
export type UpstreamHttp2Mode = (typeof UPSTREAM_HTTP2_MODES)[number];

/** The formats of `LOG_FORMAT`. */
export const LOG_FORMATS = ['text', 'json'] as const;
/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Every environment variable the reference service reads, with its default and meaning: the
 * single source for the configuration loader, the README's table (a test compares them) and
 * the Kubernetes ConfigMap (a test checks that its keys are these).
 *
 * An empty value counts as unset, so that a ConfigMap can blank a variable out.
 */
export const ENV_VARIABLES = {
  PORT: withDefault({ default: '3000', description: 'the port the service listens on (0: any free port)', parse: port }),
  HOST: withDefault({
    default: '127.0.0.1',
    description: "the address the service listens on; '0.0.0.0' in a container (the Dockerfile and the ConfigMap set it)",
    parse: host,
  }),
  UPSTREAM_URL: optional({
    unset: 'an embedded upstream on loopback',
    description: 'where `/proxy/*` forwards to: an http: or https: origin, with an optional base path',
    parse: upstreamUrl,
    // The refused value is shown without what must not be printed: credentials, query.
    redact: urlWithoutSecrets,
  }),
  UPSTREAM_CA_FILE: optional({
    unset: "Node's trusted CAs",
    description: 'a PEM file of the CA(s) that signed an https: upstream\'s certificate',
    parse: pemFile,
  }),
  UPSTREAM_TIMEOUT: withDefault({
    default: '30s',
    description: 'how long the upstream may take to answer (acquire and connect included), and stay silent within a body; past it: 504',
    parse: duration(true),
  }),
  UPSTREAM_HTTP2: withDefault({
    default: 'never',
    description:
      "HTTP/2 to an https: upstream, over the pool's undici dispatcher: 'auto' (h2 if the upstream chooses it by ALPN, else HTTP/1.1), 'always' (h2 only), 'never' (HTTP/1.1 with the gateway's own client over the pool's connections)",
    parse: oneOf(UPSTREAM_HTTP2_MODES),
  }),
  UPSTREAM_BALANCE: withDefault({
    default: 'least-connections',
    description:
      "which of the addresses the upstream's name resolves to a new connection goes to: 'least-connections' (the one with the fewest, so that backends added by a scale-out get their share) or 'first' (the first that answers)",
    parse: oneOf(BALANCE_MODES),
  }),
  POOL_MAX_IDLE: withDefault({
    default: '256',
    description:
      "idle upstream connections kept (`maxIdleConnections`); the library's default of 5 (OkHttp's, for a client app) would close and reopen connections all the time at a gateway's concurrency",
    parse: integer(0),
  }),
  POOL_KEEP_ALIVE: withDefault({ default: '5m', description: 'how long an idle upstream connection is kept (`keepAlive`)', parse: duration(false) }),
  POOL_MAX_PER_ADDRESS: withDefault({
    default: '256',
    description: 'upstream connections per address; beyond it requests wait, up to `POOL_ACQUIRE_TIMEOUT` (`maxConnectionsPerAddress`)',
    parse: integer(1, true),
  }),
  POOL_MAX_CONNECTIONS: withDefault({
    default: 'Infinity',
    description: 'upstream connections in all (`maxConnections`)',
    parse: integer(1, true),
  }),
  POOL_MAX_LIFETIME: withDefault({
    default: '5m',
    description:
      "how long an upstream connection lives at most, less up to 2.5% jitter: then it takes no new request, finishes the ones it carries and closes, so that new connections reach pods added since (`maxLifetime`; 'Infinity': no limit)",
    parse: duration(true),
  }),
  POOL_ACQUIRE_TIMEOUT: withDefault({
    default: '30s',
    description: 'how long a request may wait for a connection slot under the limits; past it: 503 (`acquireTimeout`)',
    parse: duration(true),
  }),
  POOL_CONNECT_TIMEOUT: withDefault({
    default: '10s',
    description: 'how long a connect to the upstream may take; past it: 504 (`connectTimeout`)',
    parse: duration(true),
  }),
  POOL_LEAK_DETECTION: optional({
    unset: 'off',
    description: 'a lease held longer is reported as `lease-held-too-long` (`leakDetectionThreshold`)',
    parse: duration(false),
  }),
  DRAIN_TIMEOUT: withDefault({
    default: '10s',
    description: 'on SIGTERM/SIGINT: how long requests in flight and the pool may take to finish (`drainTimeout`)',
    parse: duration(false),
  }),
  ADMIN_TOKEN: optional({
    unset: 'the admin API is disabled',
    description: 'bearer token for `DELETE /pool/connections/:id` (16 characters or more); never logged',
    parse: bearerToken,
    secret: true,
  }),
  EVENTS_PATH: withDefault({
    default: '/pool/events',
    description: 'the route of the pool event stream (Server-Sent Events)',
    parse: routePath,
  }),
  EVENT_STREAMS_MAX: withDefault({
    // Every stream is written every event: at full load the first reader of everything costs the
    // gateway about a fifth of its CPU per request (the events are built and serialised, and the
    // reader shares the machine), each further one about 1.3% (bench/RESULTS.md, event streams).
    default: '8',
    description: 'event streams (`/pool/events` and `/pool/cleanup-ticks` together) open at once; past it: 503 with `Retry-After`',
    parse: integer(0),
  }),
  TRUST_PROXY: withDefault({
    default: 'false',
    description:
      "'true' when a proxy this service trusts is in front: its `Forwarded` and `X-Forwarded-For` are appended to (RFC 7239); 'false': what clients send as `Forwarded`, `X-Forwarded-*` or `X-Real-IP` is replaced by this hop's values",
    parse: boolean,
  }),
  CLIENT_MAX_CONNECTIONS: withDefault({
    default: '1024',
    description:
      "client connections open at once (keep it under the process's file limit, `ulimit -n`); at the cap a new one takes the place of the oldest idle or still-incomplete one, else it is refused with 503",
    parse: integer(1, true),
  }),
  CLIENT_HEADERS_TIMEOUT: withDefault({
    default: '10s',
    description: 'how long a client may take to send a request head (line and headers), from its first byte or the connection; past it: 408 and the connection closed',
    parse: duration(false),
  }),
  CLIENT_REQUEST_TIMEOUT: withDefault({
    default: '5m',
    description: "how long a client may take to send a whole request, body included; past it: 408 and the connection closed; 'Infinity' for no limit",
    parse: duration(true),
  }),
  LOG_LEVEL: withDefault({ default: 'info', description: "'error', 'warn', 'info' or 'debug' (one line per proxied request)", parse: oneOf(LOG_LEVELS) }),
  LOG_FORMAT: withDefault({ default: 'text', description: "'text' (with the start banner) or 'json' (one object per line)", parse: oneOf(LOG_FORMATS) }),
} as const satisfies Record<string, EnvVariable<unknown>>;

/** The name of a variable the service reads. */
export type EnvVariableName = keyof typeof ENV_VARIABLES;

/** The names of every variable the service reads. */
export const ENV_VARIABLE_NAMES = Object.keys(ENV_VARIABLES) as EnvVariableName[];

/** The parsed value of every variable. */
export type ParsedEnv = { readonly [K in EnvVariableName]: ReturnType<(typeof ENV_VARIABLES)[K]['parse']> };
