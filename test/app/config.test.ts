import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/app/config/app-config.js';
import { AppConfigError } from '../../src/app/config/config.error.js';
import { ENV_VARIABLE_NAMES, ENV_VARIABLES } from '../../src/app/config/env-variables.js';
import { createSelfSignedCertificate } from '../../src/app/embedded-upstream/self-signed-certificate.js';

function problemsOf(env: Record<string, string>): AppConfigError {
  try {
    loadAppConfig(env);
  } catch (error) {
    if (error instanceof AppConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('configuration from the environment', () => {
  it('runs on its defaults with an empty environment: the embedded upstream, the pool defaults, the admin API off', () => {
    const config = loadAppConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      upstream: null,
      upstreamTimeoutMs: 30_000,
      drainTimeoutMs: 10_000,
      adminToken: undefined,
      eventsPath: 'pool/events',
      logLevel: 'info',
      logFormat: 'text',
      warnings: [],
    });
    expect(config.pool).toEqual({
      maxIdleConnections: 256,
      keepAliveMs: 300_000,
      maxConnectionsPerAddress: 256,
      maxConnections: Infinity,
      acquireTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      leakDetectionThresholdMs: undefined,
      maxLifetimeMs: 300_000,
    });
  });

  it('reads every variable, in the units the README gives', () => {
    const config = loadAppConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      UPSTREAM_URL: 'https://api.example.com/v1/',
      UPSTREAM_TIMEOUT: '2.5s',
      POOL_MAX_IDLE: '0',
      POOL_KEEP_ALIVE: '1500',
      POOL_MAX_PER_ADDRESS: '8',
      POOL_MAX_CONNECTIONS: 'Infinity',
      POOL_ACQUIRE_TIMEOUT: 'Infinity',
      POOL_CONNECT_TIMEOUT: '250ms',
      POOL_LEAK_DETECTION: '1m',
      POOL_MAX_LIFETIME: '90s',
      DRAIN_TIMEOUT: '20s',
      ADMIN_TOKEN: 'a-token-of-24-characters',
      EVENTS_PATH: '/ops/pool-events/',
      LOG_LEVEL: 'DEBUG',
      LOG_FORMAT: 'json',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      upstreamTimeoutMs: 2_500,
      drainTimeoutMs: 20_000,
      adminToken: 'a-token-of-24-characters',
      eventsPath: 'ops/pool-events',
      logLevel: 'debug',
      logFormat: 'json',
    });
    expect(config.upstream?.url.href).toBe('https://api.example.com/v1/');
    expect(config.pool).toEqual({
      maxIdleConnections: 0,
      keepAliveMs: 1_500,
      maxConnectionsPerAddress: 8,
      maxConnections: Infinity,
      acquireTimeoutMs: Infinity,
      connectTimeoutMs: 250,
      leakDetectionThresholdMs: 60_000,
      maxLifetimeMs: 90_000,
    });
  });

  it('treats an empty value as unset, so that a ConfigMap can blank a variable', () => {
    expect(loadAppConfig({ PORT: '', UPSTREAM_URL: '  ' })).toMatchObject({ port: 3000, upstream: null });
  });

  it.each([
    ['PORT', 'eighty', 'a port number'],
    ['PORT', '70000', 'from 0 (any free port) to 65535'],
    ['HOST', 'not a host!', 'an IP address'],
    ['UPSTREAM_URL', 'ftp://files.example.com', 'an absolute http: or https: URL'],
    ['UPSTREAM_URL', 'orders.internal:8080', 'an absolute http: or https: URL'],
    ['UPSTREAM_TIMEOUT', '10 parsecs', 'a positive duration'],
    ['UPSTREAM_HTTP2', 'yes', "one of 'auto', 'always', 'never'"],
    ['UPSTREAM_BALANCE', 'round-robin', "one of 'first', 'least-connections'"],
    ['POOL_MAX_IDLE', '-1', 'an integer >= 0'],
    ['POOL_MAX_IDLE', '2.5', 'an integer >= 0'],
    ['POOL_KEEP_ALIVE', 'Infinity', 'a positive duration'],
    ['POOL_KEEP_ALIVE', '0', 'a positive duration'],
    ['POOL_MAX_PER_ADDRESS', '0', "an integer >= 1, or 'Infinity'"],
    ['POOL_CONNECT_TIMEOUT', '-5s', 'a positive duration'],
    ['POOL_MAX_LIFETIME', '0', 'a positive duration'],
    ['POOL_MAX_LIFETIME', 'a while', 'a positive duration'],
    ['DRAIN_TIMEOUT', 'soon', 'a positive duration'],
    ['EVENTS_PATH', '/pool/../events', 'a route path'],
    ['EVENTS_PATH', '/metrics', 'a route the service does not use already'],
    ['EVENTS_PATH', '/proxy/events', 'a route the service does not use already'],
    ['LOG_LEVEL', 'chatty', "one of 'error', 'warn', 'info', 'debug'"],
    ['LOG_FORMAT', 'xml', "one of 'text', 'json'"],
    ['EVENT_STREAMS_MAX', '-1', 'an integer >= 0'],
    ['TRUST_PROXY', 'maybe', "'true' or 'false'"],
    ['CLIENT_MAX_CONNECTIONS', '0', "an integer >= 1, or 'Infinity'"],
    ['CLIENT_HEADERS_TIMEOUT', 'Infinity', 'a positive duration'],
    ['CLIENT_REQUEST_TIMEOUT', '0', 'a positive duration'],
  ])('refuses %s=%j, naming the variable, the value and what is expected', (variable, value, expected) => {
    const error = problemsOf({ [variable]: value });
    expect(error.problems.map((p) => p.variable)).toEqual([variable]);
    expect(error.message).toContain(`${variable}=${JSON.stringify(value)}`);
    expect(error.message).toContain(expected);
    expect(error.message).toContain('Default:');
  });

  it('lists every bad variable at once, not only the first', () => {
    const error = problemsOf({ PORT: 'x', POOL_MAX_IDLE: 'y', LOG_LEVEL: 'z' });
    expect(error.problems.map((p) => p.variable)).toEqual(['PORT', 'POOL_MAX_IDLE', 'LOG_LEVEL']);
    expect(error.message.split('\n')[0]).toBe('Invalid configuration: 3 environment variable(s) to fix.');
  });

  it('never shows the ADMIN_TOKEN, not even when refusing it', () => {
    const tooShort = 'hunter2';
    const error = problemsOf({ ADMIN_TOKEN: tooShort });
    expect(error.problems[0]?.variable).toBe('ADMIN_TOKEN');
    expect(error.message).toContain('ADMIN_TOKEN=(hidden, 7 characters)');
    expect(error.message).toContain('at least 16 characters');
    expect(error.message).not.toContain(tooShort);
    expect(problemsOf({ ADMIN_TOKEN: 'sixteen chars ok!' }).message).not.toContain('sixteen');
  });

  it('refuses credentials in UPSTREAM_URL, which would end up in logs and metrics', () => {
    expect(problemsOf({ UPSTREAM_URL: 'https://user:pass@api.example.com' }).message).toContain('without credentials');
  });

  it("reads POOL_MAX_LIFETIME ('5m' by default; 'Infinity' for no limit)", () => {
    expect(loadAppConfig({}).pool.maxLifetimeMs).toBe(300_000);
    expect(loadAppConfig({ POOL_MAX_LIFETIME: 'Infinity' }).pool.maxLifetimeMs).toBe(Infinity);
  });

  it.each([
    ['https://svc:s3cr3t-pass@api.example.com/v1', 'https://api.example.com/v1', 'without credentials'],
    ['http://api.example.com/v1?api_key=s3cr3t-key#frag', 'http://api.example.com/v1', 'without a query'],
    ['https://svc:s3cr3t/pass@api.example.com/?token=s3cr3t-token', 'https://api.example.com/', 'an absolute http: or https: URL'],
    ['admin:s3cr3t-pass@orders.internal:8080/x?k=s3cr3t', 'orders.internal:8080/x', 'an absolute http: or https: URL'],
    ['ftp://user:s3cr3t@files.example.com/?s3cr3t', 'ftp://files.example.com/', 'an absolute http: or https: URL'],
  ])('shows a refused UPSTREAM_URL (%s) without its userinfo or query', (value, shown, expected) => {
    const error = problemsOf({ UPSTREAM_URL: value });
    expect(error.message).toContain(`UPSTREAM_URL=${JSON.stringify(shown)} (credentials and query not shown)`);
    expect(error.message).toContain(expected);
    expect(error.message).not.toMatch(/s3cr3t/);
  });

  it('reads the gateway limits: EVENT_STREAMS_MAX, TRUST_PROXY, CLIENT_* (defaults, then given)', () => {
    const defaults = loadAppConfig({});
    expect({ eventStreamsMax: defaults.eventStreamsMax, trustProxy: defaults.trustProxy, clients: defaults.clients }).toEqual({
      eventStreamsMax: 8,
      trustProxy: false,
      clients: { maxConnections: 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 300_000 },
    });
    const given = loadAppConfig({ EVENT_STREAMS_MAX: '0', TRUST_PROXY: 'TRUE', CLIENT_MAX_CONNECTIONS: 'Infinity', CLIENT_HEADERS_TIMEOUT: '2s', CLIENT_REQUEST_TIMEOUT: 'Infinity' });
    expect({ eventStreamsMax: given.eventStreamsMax, trustProxy: given.trustProxy, clients: given.clients }).toEqual({
      eventStreamsMax: 0,
      trustProxy: true,
      clients: { maxConnections: Infinity, headersTimeoutMs: 2_000, requestTimeoutMs: Infinity },
    });
  });

  it('refuses a CLIENT_HEADERS_TIMEOUT longer than CLIENT_REQUEST_TIMEOUT (the head is part of the request)', () => {
    const error = problemsOf({ CLIENT_HEADERS_TIMEOUT: '2m', CLIENT_REQUEST_TIMEOUT: '1m' });
    expect(error.problems.map((p) => p.variable)).toEqual(['CLIENT_HEADERS_TIMEOUT']);
    expect(error.message).toContain('at most CLIENT_REQUEST_TIMEOUT (1m)');
  });

  it("reads UPSTREAM_BALANCE ('least-connections' by default)", () => {
    expect(loadAppConfig({}).upstreamBalance).toBe('least-connections');
    expect(loadAppConfig({ UPSTREAM_BALANCE: 'First' }).upstreamBalance).toBe('first');
  });

  it("reads UPSTREAM_HTTP2 ('never' by default), and refuses 'always' with an http: upstream", () => {
    expect(loadAppConfig({}).upstreamHttp2).toBe('never');
    expect(loadAppConfig({ UPSTREAM_HTTP2: 'AUTO' }).upstreamHttp2).toBe('auto');
    expect(loadAppConfig({ UPSTREAM_URL: 'https://localhost:8443', UPSTREAM_HTTP2: 'always' }).upstreamHttp2).toBe('always');
    expect(loadAppConfig({ UPSTREAM_URL: 'http://localhost:8080', UPSTREAM_HTTP2: 'auto' }).upstreamHttp2).toBe('auto');
    expect(problemsOf({ UPSTREAM_URL: 'http://localhost:8080', UPSTREAM_HTTP2: 'always' }).message).toContain('there is no h2c');
  });

  it('reads UPSTREAM_CA_FILE for an https: upstream, and refuses it otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rcp-ca-'));
    const file = join(dir, 'ca.pem');
    const { cert } = createSelfSignedCertificate({ names: ['localhost'], validForMs: 60_000 });
    writeFileSync(file, cert);
    expect(loadAppConfig({ UPSTREAM_URL: 'https://localhost:8443', UPSTREAM_CA_FILE: file }).upstream?.ca).toBe(cert);
    expect(problemsOf({ UPSTREAM_URL: 'http://localhost:8080', UPSTREAM_CA_FILE: file }).message).toContain('only with an https: UPSTREAM_URL');
    expect(problemsOf({ UPSTREAM_URL: 'https://localhost', UPSTREAM_CA_FILE: join(dir, 'missing.pem') }).message).toContain('ENOENT');
  });

  it('warns about unknown POOL_* and UPSTREAM_* variables, suggesting the closest name', () => {
    const config = loadAppConfig({ POOL_KEEPALIVE: '30s', UPSTREAM_TIMEOUTS: '1s', PATH: '/usr/bin' });
    expect(config.warnings).toEqual([
      'POOL_KEEPALIVE is not a variable this service reads (did you mean POOL_KEEP_ALIVE?); it is ignored.',
      'UPSTREAM_TIMEOUTS is not a variable this service reads (did you mean UPSTREAM_TIMEOUT?); it is ignored.',
    ]);
  });

  it('documents a default for every variable, and the defaults parse', () => {
    for (const name of ENV_VARIABLE_NAMES) {
      const variable = ENV_VARIABLES[name];
      expect(variable.description.length, name).toBeGreaterThan(10);
      expect(variable.defaultText.length, name).toBeGreaterThan(0);
      if (variable.default !== undefined) expect(() => variable.parse(variable.default as string), name).not.toThrow();
    }
  });
});
