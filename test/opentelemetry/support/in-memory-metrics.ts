import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/** One data point as the tests read it. */
export interface Point<V> {
  readonly attributes: Attributes;
  readonly value: V;
}

/** What one collection exported. */
export class Collected {
  readonly #metrics: Map<string, MetricData>;

  constructor(metrics: readonly MetricData[]) {
    this.#metrics = new Map(metrics.map((metric) => [metric.descriptor.name, metric]));
  }

  get names(): string[] {
    return [...this.#metrics.keys()].sort();
  }

  /** The metric, or an error naming what was there instead. */
  metric(name: string): MetricData {
    const metric = this.#metrics.get(name);
    if (metric === undefined) throw new Error(`No metric ${name} in this collection; there are: ${this.names.join(', ')}`);
    return metric;
  }

  has(name: string): boolean {
    return this.#metrics.has(name);
  }

  /** The points of a sum (counter or up-down counter). */
  sumPoints(name: string): Array<Point<number>> {
    const metric = this.metric(name);
    if (metric.dataPointType !== DataPointType.SUM) throw new Error(`${name} is not a sum`);
    return metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value }));
  }

  /** The sum of the values of the points whose attributes include `where`. */
  total(name: string, where: Attributes = {}): number {
    if (!this.has(name)) return 0;
    return this.sumPoints(name)
      .filter((point) => matches(point.attributes, where))
      .reduce((sum, point) => sum + point.value, 0);
  }

  histogramPoints(name: string): Array<Point<Histogram>> {
    const metric = this.metric(name);
    if (metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    return metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value }));
  }

  /** How many measurements the histogram's points whose attributes include `where` hold. */
  histogramCount(name: string, where: Attributes = {}): number {
    if (!this.has(name)) return 0;
    return this.histogramPoints(name)
      .filter((point) => matches(point.attributes, where))
      .reduce((sum, point) => sum + point.value.count, 0);
  }

  /** Everything exported, as JSON (to look for what must not be there). */
  toJSON(): unknown {
    return [...this.#metrics.values()];
  }
}

function matches(attributes: Attributes, where: Attributes): boolean {
  return Object.entries(where).every(([key, value]) => attributes[key] === value);
}

/**
 * An SDK MeterProvider whose reader exports, cumulatively, to an `InMemoryMetricExporter`
 * only when the test calls {@link collect} (the periodic export is an hour away).
 */
export class InMemoryMetrics {
  readonly exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  readonly reader = new PeriodicExportingMetricReader({ exporter: this.exporter, exportIntervalMillis: 3_600_000 });
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });

  /** Collects and exports now, and returns what was exported. */
  async collect(): Promise<Collected> {
    this.exporter.reset();
    await this.reader.forceFlush();
    const exported = this.exporter.getMetrics();
    const metrics = exported.flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    return new Collected(metrics);
  }

  async shutdown(): Promise<void> {
    await this.meterProvider.shutdown();
  }
}
