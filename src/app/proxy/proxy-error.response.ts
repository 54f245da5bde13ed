import { STATUS_CODES, type ServerResponse } from 'node:http';

/** The JSON body of an error the proxy answers itself. */
export interface ProxyErrorBody {
  readonly statusCode: number;
  /** The status's reason phrase. */
  readonly error: string;
  /** A stable code: `UPSTREAM_UNREACHABLE`, `UPSTREAM_TIMEOUT`, `POOL_EXHAUSTED`, `POOL_CLOSED`, `PATH_NOT_FORWARDED`. */
  readonly code: string;
  readonly message: string;
  /** The upstream (origin and base path), when it is about it. */
  readonly upstream?: string;
}

/**
 * Answers `status` with a JSON error body, unless the response has begun (then the client can
 * only learn of the failure from the connection being cut, which the caller does).
 */
export function sendProxyError(response: ServerResponse, status: number, code: string, message: string, upstream?: string): void {
  if (response.headersSent || response.destroyed) return;
  const body: ProxyErrorBody = {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    code,
    message,
    ...(upstream === undefined ? {} : { upstream }),
  };
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  };
  // No connection is free now, or the service is stopping: worth trying again shortly.
  if (status === 503) headers['Retry-After'] = '1';
  response.writeHead(status, headers);
  response.end(text);
}
