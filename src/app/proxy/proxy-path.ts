/**
 * The upstream path (with its query, exactly as the client sent it) for a request to
 * `/<prefix>/...`, or null when it may not be forwarded: a dot-segment (`..`, `.`, also
 * percent-encoded) could step out of the upstream's base path, and a path that does not start
 * under the prefix is not ours.
 *
 * @example
 * ```ts
 * upstreamPathOf('/proxy/orders/7?expand=items', 'proxy'); // '/orders/7?expand=items'
 * upstreamPathOf('/proxy', 'proxy');                       // '/'
 * upstreamPathOf('/proxy/../admin', 'proxy');              // null
 * ```
 */
export function upstreamPathOf(originalUrl: string, prefix: string): string | null {
  const queryAt = originalUrl.indexOf('?');
  const path = queryAt === -1 ? originalUrl : originalUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : originalUrl.slice(queryAt);
  const base = `/${prefix}`;
  if (path !== base && !path.startsWith(`${base}/`)) return null;
  const rest = path.slice(base.length) || '/';
  for (const segment of rest.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return null;
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\\')) return null;
  }
  return `${rest}${query}`;
}
