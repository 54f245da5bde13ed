import type { LoggerService } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../src/app/config/app-config.js';
import { OtlpMetricsExport } from '../../src/app/metrics/otlp-metrics.export.js';
import { startService } from '../../src/app/service.js';
import { startTestService, stopTestServices } from '../app/support/test-service.js';
import { startHttpServer } from '../support/http-servers.js';
import { waitFor } from '../support/wait-for.js';
import { OtlpReceiver, type ReceivedMetric } from './support/otlp-receiver.js';

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await stopTestServices();
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(): Promise<OtlpReceiver> {
  const started = await OtlpReceiver.start();
  receivers.push(started);
  return started;
}

const POOL_AND_PROXY_METRICS = [
  'http.client.open_connections',
  'http.client.request.time_in_queue',
  'http.server.request.duration',
  'reactive_connection_pool.connection.attempts',
  'reactive_connection_pool.connection.count',
  'reactive_connection_pool.waiter.count',
];

const total = (metric: ReceivedMetric | undefined, where: Record<string, unknown> = {}): number =>
  (metric?.points ?? []).filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v)).reduce((sum, p) => sum + p.value, 0);

describe('the gateway exports its metrics over OTLP/HTTP when the OTEL_* variables say so', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT: protobuf to <endpoint>/v1/metrics every interval, with the headers and resource asked for; /metrics as before', async () => {
    const otlp = await receiver();
    const service = await startTestService({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.origin,
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20otlp-test-token,x-tenant=acme',
      OTEL_SERVICE_NAME: 'gateway-under-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
    });
    for (let i = 0; i < 3; i++) expect((await service.fetch('/proxy/echo')).status).toBe(200);
    await waitFor(
      () => total(otlp.latest().get('http.server.request.duration')) >= 3 && total(otlp.latest().get('http.client.open_connections'), { 'http.connection.state': 'idle' }) === 1,
      'an export with the three proxied requests done',
      15_000,
    );

    expect(otlp.errors).toEqual([]);
    const last = otlp.exports.at(-1);
    expect(last?.path).toBe('/v1/metrics');
    expect(last?.headers['content-type']).toBe('application/x-protobuf');
    expect(last?.headers.authorization).toBe('Bearer otlp-test-token');
    expect(last?.headers['x-tenant']).toBe('acme');
    expect(last?.resource).toMatchObject({ 'service.name': 'gateway-under-test', 'deployment.environment.name': 'test' });
    const metrics = otlp.latest();
    expect([...metrics.keys()]).toEqual(expect.arrayContaining(POOL_AND_PROXY_METRICS));
    expect(metrics.get('http.client.open_connections')).toMatchObject({ unit: '{connection}', kind: 'sum' });
    expect(metrics.get('http.server.request.duration')).toMatchObject({ unit: 's', kind: 'histogram' });
    expect(total(metrics.get('http.server.request.duration'), { 'http.request.method': 'GET', 'http.response.status_code': 200, 'http.route': '/proxy/*' })).toBe(3);
    expect(total(metrics.get('reactive_connection_pool.connection.attempts'), { 'reactive_connection_pool.pool.name': 'default' })).toBe(1);
    expect(total(metrics.get('http.client.open_connections'), { 'http.connection.state': 'idle' })).toBe(1);

    const prometheus = await service.fetch('/metrics');
    expect(prometheus.status).toBe(200);
    expect(prometheus.text).toContain('connection_pool_acquisitions_total{pool="default",reused="true"} 2');
    expect(prometheus.text).toContain('gateway_proxy_requests_total{method="GET",status="200",outcome="ok"} 3');
  });

  it('OTEL_METRICS_EXPORTER=otlp with http/json to the metrics endpoint as given, and a last export on shutdown', async () => {
    const otlp = await receiver();
    const service = await startTestService({
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlp.origin}/collector/metrics`,
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      // An hour: the only export is the one at shutdown.
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
    });
    await service.fetch('/proxy/echo');
    await service.fetch('/proxy/status/503');
    await service.close();

    expect(otlp.errors).toEqual([]);
    expect(otlp.exports).toHaveLength(1);
    const [received] = otlp.exports;
    expect(received?.path).toBe('/collector/metrics');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.resource['service.name']).toBe('reactive-connection-pool');
    const metrics = otlp.latest();
    expect([...metrics.keys()]).toEqual(expect.arrayContaining(POOL_AND_PROXY_METRICS));
    expect(total(metrics.get('http.server.request.duration'), { 'http.response.status_code': 503 })).toBe(1);
    expect(total(metrics.get('http.server.request.duration'))).toBe(2);
  });

  it('exports nothing without an OTLP endpoint or exporter, or with OTEL_METRICS_EXPORTER=none or OTEL_SDK_DISABLED=true', async () => {
    for (const env of [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_METRICS_EXPORTER: 'none' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }]) {
      expect(loadAppConfig(env).otlpMetrics).toBeNull();
    }
    const service = await startTestService({ OTEL_METRICS_EXPORTER: 'prometheus' });
    expect(() => service.app.get(OtlpMetricsExport)).toThrow();
    expect((await service.fetch('/metrics')).status).toBe(200);
  });

  it('a receiver that is down: the gateway serves on, says so once in its log, without the headers', async () => {
    const closed = await startHttpServer(() => undefined);
    const port = closed.port;
    await closed.close();
    const lines: string[] = [];
    const capture = (...args: unknown[]): void => {
      lines.push(args.map(String).join(' '));
    };
    const logger: LoggerService = { log: capture, warn: capture, error: capture, debug: () => undefined, verbose: () => undefined };
    const config = loadAppConfig({
      PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://user:endpoint-secret@127.0.0.1:${port}/?token=query-secret`,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20header-secret',
      OTEL_METRIC_EXPORT_INTERVAL: '100',
      // The exporter tries again within this time before it reports a failure.
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
    });
    const service = await startService(config, { logger });
    try {
      await waitFor(() => lines.some((line) => line.includes('Metrics export to')), 'the export failure in the log', 15_000);
      const response = await fetch(`${service.url}/proxy/echo`);
      expect(response.status).toBe(200);
      await response.text();
      const failures = lines.filter((line) => line.includes('Metrics export to'));
      expect(failures[0]).toContain(`Metrics export to http://127.0.0.1:${port}/v1/metrics failed`);
      for (const secret of ['endpoint-secret', 'query-secret', 'header-secret']) expect(lines.join('\n')).not.toContain(secret);
    } finally {
      await service.close();
    }
    // Once, not at every interval.
    expect(lines.filter((line) => line.includes('failed')).length).toBe(1);
  });

  it('refuses OTEL_* values it cannot honour at start-up, naming the variable, never showing a header value', () => {
    const errorFor = (env: Record<string, string>): string => {
      try {
        loadAppConfig(env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${JSON.stringify(env)} was accepted`);
    };
    expect(errorFor({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toContain('OTEL_EXPORTER_OTLP_PROTOCOL="grpc": expected \'http/protobuf\' or \'http/json\'');
    expect(errorFor({ OTEL_METRICS_EXPORTER: 'zipkin' })).toContain('OTEL_METRICS_EXPORTER="zipkin"');
    expect(errorFor({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toContain('OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318": expected an http: or https: URL');
    expect(errorFor({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRIC_EXPORT_INTERVAL: 'soon' })).toContain('OTEL_METRIC_EXPORT_INTERVAL="soon"');
    const headers = errorFor({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'token-without-a-name-secret' });
    expect(headers).toContain('OTEL_EXPORTER_OTLP_HEADERS=(hidden, 27 characters)');
    expect(headers).not.toContain('token-without-a-name-secret');
    expect(errorFor({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'x-a=line%0Abreak' })).toContain('OTEL_EXPORTER_OTLP_HEADERS=(hidden');
  });
});
