import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Registry } from 'prom-client';
import { ROUTES } from '../routes.js';

/** `GET /metrics`: the application's registry in the Prometheus text format. */
@Controller(ROUTES.metrics)
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  async scrape(@Res() response: Response): Promise<void> {
    const text = await this.registry.metrics();
    response.status(200).set('Content-Type', this.registry.contentType).set('Cache-Control', 'no-store').send(text);
  }
}
