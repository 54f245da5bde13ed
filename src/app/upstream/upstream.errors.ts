/** The stable codes of {@link UpstreamError}, as the proxy's JSON error bodies show them. */
export type UpstreamErrorCode = 'UPSTREAM_UNREACHABLE' | 'UPSTREAM_PROTOCOL_ERROR' | 'UPSTREAM_TIMEOUT' | 'POOL_EXHAUSTED' | 'POOL_CLOSED';

/**
 * Why the upstream gave no (complete) answer, with the HTTP status the proxy answers in its
 * place: 502 unreachable or an answer that cannot be forwarded, 504 timed out, 503 no
 * connection available now.
 */
export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamErrorCode,
    readonly status: 502 | 503 | 504,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}

/** What the upstream did not do in time (`UPSTREAM_TIMEOUT`, 504). */
export function upstreamTimeout(target: string, timeoutMs: number, what: 'answer' | 'body'): UpstreamError {
  const doing = what === 'answer' ? 'did not answer' : 'stopped sending its body for';
  return new UpstreamError(
    'UPSTREAM_TIMEOUT',
    504,
    what === 'answer'
      ? `The upstream ${target} ${doing} within ${timeoutMs} ms (UPSTREAM_TIMEOUT).`
      : `The upstream ${target} ${doing} ${timeoutMs} ms (UPSTREAM_TIMEOUT).`,
  );
}

/** The connection ended before any byte of an answer (Node's client says `socket hang up`). */
export function closedWithoutAnswer(target: string): UpstreamError {
  return new UpstreamError('UPSTREAM_UNREACHABLE', 502, `The upstream ${target} closed the connection without an answer.`);
}

/**
 * Maps an error of the HTTP client or the pool, met before the response headers, to an
 * {@link UpstreamError}: the pool's codes say whether the pool or the upstream is at fault,
 * Node's say how the upstream failed.
 */
export function toUpstreamError(error: unknown, target: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ERR_CONNECT_TIMEOUT':
      return new UpstreamError('UPSTREAM_TIMEOUT', 504, `Connecting to the upstream ${target} timed out (POOL_CONNECT_TIMEOUT).`, { cause: error });
    case 'ERR_ACQUIRE_TIMEOUT':
      return new UpstreamError(
        'POOL_EXHAUSTED',
        503,
        `No upstream connection became free in time (POOL_ACQUIRE_TIMEOUT): every connection allowed by POOL_MAX_PER_ADDRESS / POOL_MAX_CONNECTIONS is busy.`,
        { cause: error },
      );
    case 'ERR_POOL_CLOSED':
      return new UpstreamError('POOL_CLOSED', 503, 'The service is shutting down: its connection pool takes no new requests.', { cause: error });
    default: {
      // A parser's refusal (Node's llhttp and undici's say HPE_*): the upstream does not speak HTTP/1.1 as it must.
      if (typeof code === 'string' && code.startsWith('HPE_')) {
        return new UpstreamError('UPSTREAM_PROTOCOL_ERROR', 502, `The upstream ${target} gave an answer that cannot be forwarded: it does not parse as HTTP/1.1 (${code}).`, { cause: error });
      }
      // No code: not a network failure but something unexpected, whose text is for the logs only.
      if (typeof code !== 'string') return new UpstreamError('UPSTREAM_UNREACHABLE', 502, `The upstream ${target} could not be reached.`, { cause: error });
      // The connector's messages name the code already; Node's own ("socket hang up") may not.
      const detail = message.includes(code) ? firstLine(message) : `${code}: ${firstLine(message)}`;
      return new UpstreamError('UPSTREAM_UNREACHABLE', 502, `The upstream ${target} could not be reached: ${detail}`, { cause: error });
    }
  }
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
