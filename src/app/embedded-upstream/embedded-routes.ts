import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A route of the embedded upstream, as the banner and the dashboard show it. */
export interface EmbeddedRoute {
  readonly pattern: string;
  readonly example: string;
  readonly description: string;
}

/** The embedded upstream's routes. */
export const EMBEDDED_ROUTES: readonly EmbeddedRoute[] = [
  { pattern: '/echo', example: '/echo', description: 'the request as received (method, path, headers, body digest), as JSON' },
  { pattern: '/delay/:ms', example: '/delay/1500', description: `answers after ms milliseconds (at most ${60_000})` },
  { pattern: '/status/:code', example: '/status/503', description: 'answers with that status (200-599)' },
  { pattern: '/bytes/:n', example: '/bytes/1048576', description: 'n random bytes, streamed in chunks (at most 64 MiB)' },
];

const MAX_DELAY_MS = 60_000;
const MAX_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** How much of a body `/echo` shows as text (it digests all of it). */
const ECHO_TEXT_BYTES = 64 * 1024;

/** What the handler uses of a request: common to node:http and node:http2's compatibility API. */
export interface EmbeddedRequest extends AsyncIterable<Buffer | string> {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
}

/** What the handler uses of a response: common to node:http and node:http2's compatibility API. */
export interface EmbeddedResponse {
  writeHead(status: number, headers?: Record<string, string | number>): unknown;
  write(chunk: Buffer | string): boolean;
  end(): unknown;
  end(chunk: Buffer | string): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
  off(event: 'close' | 'drain', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/**
 * The embedded upstream's request handler: small routes that make the pool's behaviour
 * visible (`/delay` holds a connection in use, `/bytes` streams, `/status` fails on demand).
 * Served over HTTP/1.1 and HTTP/2 alike.
 */
export async function handleEmbeddedRequest(request: EmbeddedRequest, response: EmbeddedResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://upstream.invalid');
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const [route, argument] = segments;
  try {
    if (route === 'echo') return await echo(request, response, url);
    await drain(request);
    if (route === 'delay' && segments.length === 2) return await delay(response, numberIn(argument, 0, MAX_DELAY_MS));
    if (route === 'status' && segments.length === 2) return status(response, numberIn(argument, 200, 599));
    if (route === 'bytes' && segments.length === 2) return await bytes(response, numberIn(argument, 0, MAX_BYTES));
    if (segments.length === 0) return json(response, 200, { routes: EMBEDDED_ROUTES });
    return json(response, 404, { error: 'Not Found', routes: EMBEDDED_ROUTES.map((r) => r.pattern) });
  } catch (error) {
    if (error instanceof RangeError) return json(response, 400, { error: 'Bad Request', message: error.message });
    throw error;
  }
}

async function echo(request: EmbeddedRequest, response: EmbeddedResponse, url: URL): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  const kept: Buffer[] = [];
  let keptBytes = 0;
  for await (const chunk of request) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(buffer);
    bytes += buffer.length;
    if (keptBytes < ECHO_TEXT_BYTES) {
      kept.push(buffer.subarray(0, ECHO_TEXT_BYTES - keptBytes));
      keptBytes += Math.min(buffer.length, ECHO_TEXT_BYTES - keptBytes);
    }
  }
  // HTTP/2's pseudo-headers (:method, :path, ...) are not headers of the message.
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !name.startsWith(':')));
  json(response, 200, {
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    httpVersion: request.httpVersion,
    headers,
    body: Buffer.concat(kept).toString('utf8'),
    bodyBytes: bytes,
    bodySha256: hash.digest('hex'),
  });
}

function delay(response: EmbeddedResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      json(response, 200, { delayedMs: ms });
      resolve();
    }, ms);
    // A client that gives up frees the timer.
    response.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function status(response: EmbeddedResponse, code: number): void {
  if (code === 204 || code === 304) {
    response.writeHead(code);
    response.end();
    return;
  }
  json(response, code, { status: code });
}

async function bytes(response: EmbeddedResponse, count: number): Promise<void> {
  // No Content-Length: the body goes chunked, as a streaming upstream's would.
  response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  let left = count;
  while (left > 0 && !response.destroyed) {
    const size = Math.min(CHUNK_BYTES, left);
    left -= size;
    if (!response.write(randomBytes(size))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.once('drain', done);
        response.once('close', done);
      });
    }
  }
  response.end();
}

function json(response: EmbeddedResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

async function drain(request: EmbeddedRequest): Promise<void> {
  for await (const _chunk of request) {
    // Read and dropped: the routes other than /echo ignore bodies.
  }
}

function numberIn(text: string | undefined, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`Expected an integer from ${min} to ${max}, got "${text ?? ''}".`);
  return value;
}
