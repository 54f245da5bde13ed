import type { IncomingMessage, ServerResponse } from 'node:http';
import { All, Controller, Req, Res } from '@nestjs/common';
import { ROUTES } from '../routes.js';
import { ProxyService } from './proxy.service.js';

/** `ANY /proxy/*`: every method, every path under it, forwarded to the upstream. */
@Controller(ROUTES.proxy)
export class ProxyController {
  constructor(private readonly proxy: ProxyService) {}

  /** `/proxy` itself, and everything under it (`{*path}`: path-to-regexp 8's optional wildcard). */
  @All(['', '{*path}'])
  forward(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.proxy.forward(request, response);
  }
}
