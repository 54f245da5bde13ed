import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { request } from 'undici';
import { ConnectionPool } from 'reactive-connection-pool';
import { instrumentConnectionPool } from 'reactive-connection-pool/opentelemetry';

const origin = process.env.API_ORIGIN ?? 'http://127.0.0.1:8080';

// An application sets its SDK up once (an OTLP exporter, or NodeSDK) and may register it as
// the global provider: then instrumentConnectionPool(pool) needs no option. Here the metrics
// stay in memory, to print them.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [reader] });

const pool = new ConnectionPool();
const instrumentation = instrumentConnectionPool(pool, { meterProvider, poolName: 'api' });

const { body } = await request(`${origin}/items/1`, { dispatcher: pool.dispatcher() });
await body.text();

await reader.forceFlush();
const metrics = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
const open = metrics.find((metric) => metric.descriptor.name === 'http.client.open_connections');
for (const point of open?.dataPoints ?? []) console.log(point.attributes['server.address'], point.attributes['http.connection.state'], point.value);
// 127.0.0.1 active 0 and 127.0.0.1 idle 1 (or 1 and 0 while the response's connection is still being given back)

instrumentation.dispose();
await meterProvider.shutdown();
await pool.close();
