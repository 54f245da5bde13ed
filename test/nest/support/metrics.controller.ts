import { Controller, Get, Header } from '@nestjs/common';
import { ConnectionPoolMetrics } from '../../../src/nest/index.js';

/** Serves the registry of the injected metrics, as an application without a Prometheus module would. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ConnectionPoolMetrics) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
