import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ROUTES } from '../routes.js';
import { CleanupTicksStreams } from './cleanup-ticks.streams.js';

/** `GET /pool/cleanup-ticks`: the cleanup stream's ticks, live (Server-Sent Events). */
@Controller(ROUTES.cleanupTicks)
export class CleanupTicksController {
  constructor(private readonly streams: CleanupTicksStreams) {}

  @Get()
  stream(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    this.streams.stream(request, response);
  }
}
