import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ForbiddenException, Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_CONFIG } from '../app.tokens.js';
import type { AppConfig } from '../config/app-config.js';

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/**
 * Lets a request through only with `Authorization: Bearer <ADMIN_TOKEN>`.
 *
 * - No `ADMIN_TOKEN` configured: the admin API is off, every request gets 403 saying how to
 *   turn it on (rather than a token-less API nobody meant to expose).
 * - Missing or wrong token: 401 with `WWW-Authenticate: Bearer`.
 *
 * Tokens are compared as SHA-256 digests with `timingSafeEqual`: equal lengths, constant
 * time, so that response times reveal neither the token's length nor its prefix.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  readonly #digest: Buffer | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.#digest = config.adminToken === undefined ? undefined : digest(config.adminToken);
  }

  /** Whether the admin API is on. */
  get enabled(): boolean {
    return this.#digest !== undefined;
  }

  /** @throws ForbiddenException (403) when the admin API is off; UnauthorizedException (401) for a missing or wrong token. */
  canActivate(context: ExecutionContext): boolean {
    if (this.#digest === undefined) {
      throw new ForbiddenException('The admin API is disabled: start the service with ADMIN_TOKEN set (16 characters or more) to enable it.');
    }
    const http = context.switchToHttp();
    const header = http.getRequest<IncomingMessage>().headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (token !== undefined && timingSafeEqual(digest(token), this.#digest)) return true;
    http.getResponse<ServerResponse>().setHeader('WWW-Authenticate', 'Bearer realm="reactive-connection-pool admin"');
    throw new UnauthorizedException(
      token === undefined ? 'This route needs "Authorization: Bearer <ADMIN_TOKEN>".' : 'The bearer token is not the ADMIN_TOKEN.',
    );
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
