import * as http from 'node:http';
import * as https from 'node:https';

/** A response read to the end. */
export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The body as text. */
  readonly text: string;
  /** The body parsed as JSON (throws if it is not). */
  json<T = Record<string, unknown>>(): T;
}

/** Options of {@link request}. */
export interface RequestOptions {
  readonly method?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  /** A body sent at once, or chunks written one by one (chunked transfer). */
  readonly body?: string | Buffer | readonly Buffer[];
  /** Trusted CA for https: URLs. */
  readonly ca?: string;
}

/**
 * One request on a fresh connection (no agent: nothing pooled on the test's side, so every
 * connection the service sees is a new client connection), read to the end.
 */
export function request(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    // The path is sent as written: URL parsing would resolve dot-segments ('%2e%2e') first.
    const match = /^(https?:)\/\/([^/?#]+)(.*)$/.exec(url);
    if (match === null) throw new TypeError(`Not an http(s) URL: ${url}`);
    const { hostname, port } = new URL(`${match[1]}//${match[2]}`);
    const target = { protocol: match[1], hostname: hostname.replace(/^\[(.*)\]$/, '$1'), port, path: match[3] || '/' };
    const body = options.body;
    // Chunks go chunked, whatever the method (Node chunks only some methods by itself).
    const headers = body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body) ? { 'transfer-encoding': 'chunked', ...options.headers } : options.headers;
    const req = client.request({ ...target, method: options.method ?? 'GET', headers, agent: false, ca: options.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          json: <T>() => JSON.parse(body.toString('utf8')) as T,
        });
      });
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      for (const chunk of body) req.write(chunk);
      req.end();
    }
  });
}
