import type * as http2 from 'node:http2';
import { errors as undiciErrors } from 'undici';
import type { Http2SessionTransport } from '../transport/index.js';
import { forEachHeader, type DispatchHeaders } from './request-headers.js';

/** What the HTTP/2 request headers are built from. */
export interface H2HeaderInput {
  readonly method: string;
  readonly path: string;
  readonly headers?: DispatchHeaders;
  readonly query?: Record<string, unknown> | null;
}

/**
 * Headers that describe an HTTP/1.1 connection and have no meaning in HTTP/2 (RFC 9113
 * 8.2.2); Node refuses to send them. `host` becomes `:authority`.
 */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/**
 * The request's HTTP/2 headers, and the `content-length` it was given (or null). Repeated
 * fields are joined with `, ` into one (cookies stay apart, RFC 9113 8.2.3), as undici does.
 */
export function buildH2Headers(transport: Http2SessionTransport, request: H2HeaderInput): { headers: http2.OutgoingHttpHeaders; contentLength: number | null } {
  const { host, port } = transport.address;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const headers: http2.OutgoingHttpHeaders = {
    ':method': request.method,
    ':scheme': 'https',
    ':authority': port === 443 ? hostPart : `${hostPart}:${port}`,
    ':path': pathOf(request),
  };
  let contentLength: number | null = null;
  forEachHeader(request.headers, (rawName, value) => {
    const name = rawName.toLowerCase();
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    if (name === 'host') {
      headers[':authority'] = values[0];
      return;
    }
    if (name === 'content-length') {
      contentLength = Number(values[0]);
      return;
    }
    if (CONNECTION_HEADERS.has(name) || (name === 'te' && values[0] !== 'trailers')) return;
    const known = headers[name];
    if (name === 'cookie') {
      headers[name] = known === undefined ? (values.length === 1 ? values[0] : values) : [...(Array.isArray(known) ? known : [String(known)]), ...values];
      return;
    }
    const joined = values.join(', ');
    headers[name] = known === undefined ? joined : `${String(known)}, ${joined}`;
  });
  return { headers, contentLength };
}

function pathOf(request: H2HeaderInput): string {
  let path = request.path;
  if (path.startsWith('http://') || path.startsWith('https://')) {
    const url = new URL(path);
    path = `${url.pathname}${url.search}`;
  }
  const query = request.query;
  if (query !== null && query !== undefined) {
    if (path.includes('?') || path.includes('#')) throw new undiciErrors.InvalidArgumentError('Query params cannot be passed when url already contains "?" or "#".');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
      else if (value !== undefined && value !== null) params.append(key, String(value));
    }
    const text = params.toString();
    if (text) path = `${path}?${text}`;
  }
  return path;
}

/** Response headers as the flat `[name, value, ...]` Buffers of undici's handlers, pseudo-headers left out. */
export function rawH2Headers(headers: http2.IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) raw.push(Buffer.from(name, 'latin1'), Buffer.from(item, 'latin1'));
    else raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(value), 'latin1'));
  }
  return raw;
}

/** HTTP/2 trailers as handlers get them: see {@link sendOverHttp2}'s `onComplete`. */
export type H2Trailers = Buffer[] & Record<string, string | string[]>;

/**
 * The trailers for a handler's `onComplete`: undici passes its HTTP/2 handlers the trailers
 * object Node gives (`trailers['grpc-status']`), where HTTP/1.1 handlers get raw
 * `[name, value, ...]` pairs, which undici's own `request()` reads (and so loses HTTP/2
 * trailers). These are both: the raw pairs, carrying each trailer by name as well.
 */
export function h2Trailers(received: http2.IncomingHttpHeaders | null): H2Trailers {
  const trailers = (received === null ? [] : rawH2Headers(received)) as H2Trailers;
  if (received !== null) {
    for (const name of Object.keys(received)) {
      const value = received[name];
      if (value !== undefined && name.charCodeAt(0) !== 58) trailers[name] = value;
    }
  }
  return trailers;
}
