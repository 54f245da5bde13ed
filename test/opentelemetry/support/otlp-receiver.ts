import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { LOOPBACK } from '../../support/local-servers.js';

/** One metric of an export, decoded. */
export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string;
  readonly kind: 'sum' | 'gauge' | 'histogram' | 'other';
  /** For sums and gauges the value, for histograms the count. */
  readonly points: ReadonlyArray<{ readonly attributes: Readonly<Record<string, unknown>>; readonly value: number }>;
}

/** One OTLP export request, decoded. */
export interface ReceivedExport {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly metrics: readonly ReceivedMetric[];
}

/**
 * An OTLP/HTTP metrics receiver on loopback, as a Collector's: it answers 200 to every POST
 * and decodes its body (protobuf or JSON, gzip or not) with the decoders below, which read
 * the OTLP messages field by field.
 */
export class OtlpReceiver {
  readonly exports: ReceivedExport[] = [];
  readonly errors: Error[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const decoded = req.headers['content-type'] === 'application/json' ? decodeJson(body) : decodeProtobuf(body);
          receiver.exports.push({ path: req.url ?? '', headers: req.headers, ...decoded });
        } catch (error) {
          receiver.errors.push(error as Error);
        }
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
      });
    });
    server.listen(0, LOOPBACK);
    await once(server, 'listening');
    return receiver;
  }

  get origin(): string {
    return `http://${LOOPBACK}:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Every metric of every export so far, by name (the latest export's wins). */
  latest(): Map<string, ReceivedMetric> {
    const byName = new Map<string, ReceivedMetric>();
    for (const received of this.exports) for (const metric of received.metrics) byName.set(metric.name, metric);
    return byName;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    const closed = once(this.#server, 'close');
    this.#server.close();
    await closed;
  }
}

// ---- protobuf (opentelemetry/proto/collector/metrics/v1/metrics_service.proto) ----------

type Field = { readonly number: number; readonly bytes?: Buffer; readonly varint?: bigint; readonly fixed64?: Buffer };

function readVarint(buffer: Buffer, offset: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let position = offset; position < buffer.length; position++) {
    const byte = buffer[position] as number;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, position + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

function fields(buffer: Buffer): Field[] {
  const out: Field[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const [tag, next] = readVarint(buffer, offset);
    offset = next;
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [varint, after] = readVarint(buffer, offset);
      out.push({ number, varint });
      offset = after;
    } else if (wire === 1) {
      out.push({ number, fixed64: buffer.subarray(offset, offset + 8) });
      offset += 8;
    } else if (wire === 2) {
      const [length, after] = readVarint(buffer, offset);
      out.push({ number, bytes: buffer.subarray(after, after + Number(length)) });
      offset = after + Number(length);
    } else if (wire === 5) {
      offset += 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return out;
}

const all = (buffer: Buffer, number: number): Buffer[] => fields(buffer).flatMap((f) => (f.number === number && f.bytes ? [f.bytes] : []));
const one = (buffer: Buffer, number: number): Field | undefined => fields(buffer).find((f) => f.number === number);
const text = (buffer: Buffer, number: number): string => one(buffer, number)?.bytes?.toString('utf8') ?? '';

function anyValue(buffer: Buffer): unknown {
  const field = fields(buffer)[0];
  if (field === undefined) return undefined;
  if (field.number === 1) return field.bytes?.toString('utf8');
  if (field.number === 2) return field.varint === 1n;
  if (field.number === 3) return Number(BigInt.asIntN(64, field.varint ?? 0n));
  if (field.number === 4) return field.fixed64?.readDoubleLE(0);
  return undefined;
}

function attributes(keyValues: Buffer[]): Record<string, unknown> {
  return Object.fromEntries(keyValues.map((kv) => [text(kv, 1), anyValue(one(kv, 2)?.bytes ?? Buffer.alloc(0))]));
}

function numberPoint(point: Buffer): { attributes: Record<string, unknown>; value: number } {
  const asDouble = one(point, 4)?.fixed64;
  const asInt = one(point, 6)?.fixed64;
  return { attributes: attributes(all(point, 7)), value: asDouble ? asDouble.readDoubleLE(0) : Number(asInt?.readBigInt64LE(0) ?? 0n) };
}

function histogramPoint(point: Buffer): { attributes: Record<string, unknown>; value: number } {
  return { attributes: attributes(all(point, 9)), value: Number(one(point, 4)?.fixed64?.readBigUInt64LE(0) ?? 0n) };
}

/** An `ExportMetricsServiceRequest` in protobuf. */
export function decodeProtobuf(body: Buffer): Omit<ReceivedExport, 'path' | 'headers'> {
  const resource: Record<string, unknown> = {};
  const metrics: ReceivedMetric[] = [];
  for (const resourceMetrics of all(body, 1)) {
    Object.assign(resource, attributes(all(one(resourceMetrics, 1)?.bytes ?? Buffer.alloc(0), 1)));
    for (const scopeMetrics of all(resourceMetrics, 2)) {
      for (const metric of all(scopeMetrics, 2)) {
        const sum = one(metric, 7)?.bytes;
        const gauge = one(metric, 5)?.bytes;
        const histogram = one(metric, 9)?.bytes;
        const kind = sum ? 'sum' : gauge ? 'gauge' : histogram ? 'histogram' : 'other';
        const points = sum ? all(sum, 1).map(numberPoint) : gauge ? all(gauge, 1).map(numberPoint) : histogram ? all(histogram, 1).map(histogramPoint) : [];
        metrics.push({ name: text(metric, 1), unit: text(metric, 3), kind, points });
      }
    }
  }
  return { resource, metrics };
}

// ---- JSON (the OTLP/JSON mapping of the same messages) -----------------------------------

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}
interface JsonPoint {
  attributes?: JsonKeyValue[];
  asInt?: string | number;
  asDouble?: number;
  count?: string | number;
}
interface JsonMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints: JsonPoint[] };
  gauge?: { dataPoints: JsonPoint[] };
  histogram?: { dataPoints: JsonPoint[] };
}

function jsonAttributes(keyValues: JsonKeyValue[] = []): Record<string, unknown> {
  return Object.fromEntries(
    keyValues.map(({ key, value }) => [key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue))]),
  );
}

/** An `ExportMetricsServiceRequest` in OTLP/JSON. */
export function decodeJson(body: Buffer): Omit<ReceivedExport, 'path' | 'headers'> {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceMetrics: Array<{ resource?: { attributes?: JsonKeyValue[] }; scopeMetrics: Array<{ metrics: JsonMetric[] }> }>;
  };
  const resource: Record<string, unknown> = {};
  const metrics: ReceivedMetric[] = [];
  for (const resourceMetrics of request.resourceMetrics) {
    Object.assign(resource, jsonAttributes(resourceMetrics.resource?.attributes));
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const data = metric.sum ?? metric.gauge ?? metric.histogram;
        const kind = metric.sum ? 'sum' : metric.gauge ? 'gauge' : metric.histogram ? 'histogram' : 'other';
        const points = (data?.dataPoints ?? []).map((p) => ({
          attributes: jsonAttributes(p.attributes),
          value: kind === 'histogram' ? Number(p.count ?? 0) : p.asDouble ?? Number(p.asInt ?? 0),
        }));
        metrics.push({ name: metric.name, unit: metric.unit ?? '', kind, points });
      }
    }
  }
  return { resource, metrics };
}
