import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import { ROUTES } from '../routes.js';

/** A file of the dashboard, loaded once. */
interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/**
 * The dashboard's files, plain HTML, CSS and JavaScript with no build step: `src/.../public`
 * when run from the sources, `dist/.../public` once built (`npm run build` copies them there).
 */
const PUBLIC_DIR = new URL('./public/', import.meta.url);

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};

/**
 * Only this origin's own files and streams: the page loads nothing from elsewhere (the
 * machine it runs on may have no internet), runs no inline script, and cannot be framed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** `GET /`: the live dashboard; `GET /dashboard/<file>`: its script and style sheet. */
@Controller()
export class DashboardController {
  readonly #assets: ReadonlyMap<string, Asset>;

  constructor() {
    this.#assets = new Map(Object.entries(FILES).map(([name, type]) => [name, { body: readFileSync(new URL(name, PUBLIC_DIR)), type }]));
  }

  @Get(ROUTES.dashboard)
  page(@Res() response: ServerResponse): void {
    this.#send(response, 'index.html');
  }

  /** @throws NotFoundException for any other file. */
  @Get(`${ROUTES.dashboardAssets}/:file`)
  asset(@Param('file') file: string, @Res() response: ServerResponse): void {
    if (file === 'index.html' || !this.#assets.has(file)) throw new NotFoundException(`The dashboard has no file "${file}".`);
    this.#send(response, file);
  }

  #send(response: ServerResponse, name: string): void {
    const asset = this.#assets.get(name) as Asset;
    response.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    response.end(asset.body);
  }
}
