import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';

/** The JSON body of an error the proxy answers itself. */
export interface ProxyErrorBody {
  readonly statusCode: number;
  /** The status's reason phrase. */
  readonly error: string;
  /**
   * A stable code: `UPSTREAM_UNREACHABLE`, `UPSTREAM_PROTOCOL_ERROR`, `UPSTREAM_TIMEOUT`,
   * `POOL_EXHAUSTED`, `POOL_CLOSED`, `PATH_NOT_FORWARDED`, `AMBIGUOUS_FRAMING`, `BAD_HOST`,
   * `UNSUPPORTED_HTTP_VERSION`, `UNSUPPORTED_TRANSFER_CODING`, `TOO_MANY_EVENT_STREAMS`,
   * `TOO_MANY_CONNECTIONS`, `INTERNAL_ERROR`.
   */
  readonly code: string;
  readonly message: string;
  /** The upstream (origin and base path), when it is about it. */
  readonly upstream?: string;
}

/** What else an error answer says. */
export interface ProxyErrorOptions {
  /** The upstream it is about, shown in the body. */
  readonly upstream?: string;
  /** `Retry-After` of a 503, in seconds. Default 1. */
  readonly retryAfterSeconds?: number;
}

/** The bytes of a JSON error body, and its headers. */
export function proxyErrorPayload(status: number, code: string, message: string, options: ProxyErrorOptions = {}): { readonly text: string; readonly headers: Record<string, string | number> } {
  const { upstream } = options;
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
  if (status === 503) headers['Retry-After'] = String(options.retryAfterSeconds ?? 1);
  return { text, headers };
}

/**
 * Answers `status` with a JSON error body, unless the response has begun (then the client can
 * only learn of the failure from the connection being cut, which the caller does).
 */
export function sendProxyError(response: ServerResponse, status: number, code: string, message: string, options: ProxyErrorOptions = {}): void {
  if (response.headersSent || response.destroyed) return;
  const { text, headers } = proxyErrorPayload(status, code, message, options);
  // The reason phrase is always the standard one: a phrase left over from a failed
  // writeHead() (an upstream's) must not be reused.
  response.writeHead(status, STATUS_CODES[status] ?? 'Error', headers);
  response.end(text);
}

/**
 * Answers a request whose framing cannot be trusted, and closes its connection: what follows
 * it on the connection cannot be told apart from its body, so nothing more is read from it.
 */
export function refuseRequest(request: IncomingMessage, response: ServerResponse, status: number, code: string, message: string): void {
  response.shouldKeepAlive = false;
  response.setHeader('Connection', 'close');
  sendProxyError(response, status, code, message);
  const socket = request.socket;
  // Node's parser may already hold the bytes after it (a pipelined request): they are dropped with the connection.
  if (response.writableFinished) socket.destroySoon();
  else response.once('finish', () => socket.destroySoon());
}
