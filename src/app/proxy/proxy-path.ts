/**
 * What `/proxy/*` refuses to forward (400 `PATH_NOT_FORWARDED`), in the words the client gets.
 * See {@link upstreamPathOf} and the README's "Paths" policy.
 */
export const PATH_POLICY =
  'This path is not forwarded: it must be under /proxy/, and no segment may be "." or ".." in any spelling (percent-encoded once or more, or followed by ";" parameters, as in "..;" or "%2e%2e%3b"), nor hold an encoded "/" or "\\", a NUL or another control character.';

/** How many times a segment is percent-decoded, at most, looking for a dot-segment (`%25252e` is three). */
const MAX_DECODINGS = 3;

/**
 * Whether one path segment (as sent) may be forwarded. Upstream servers and frameworks do not
 * agree on what a segment means: Tomcat and Jetty drop path parameters (`..;x` is `..`),
 * some decode twice (`%252e%252e` is `..`), some stop at NUL (`..%00` is `..`), IIS and
 * Windows paths take `\` as `/`. So a segment is refused when, at any stage of decoding
 * (up to {@link MAX_DECODINGS} times), it holds a NUL, a control character, `/` or `\`,
 * or its part before the first `;` is only dots (and white space). Anything left undecoded
 * after that many stages is refused too.
 */
function segmentIsForwardable(segment: string): boolean {
  if (!looksSafe(segment)) return false;
  if (!segment.includes('%')) return true;
  // The first decoding is the one every upstream does: it must be valid (and UTF-8).
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    return false;
  }
  for (let stage = 1; ; stage++) {
    if (!looksSafe(text)) return false;
    if (!text.includes('%')) return true;
    // Later decodings are the lenient ones of some upstreams: each valid %XX, byte by byte.
    const decoded = text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === text) return true;
    if (stage === MAX_DECODINGS) return false;
    text = decoded;
  }
}

/** No NUL or control character, no `/` or `\\`, and not a dot-segment even with parameters. */
function looksSafe(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f/\\]/.test(text)) return false;
  return !/^\s*\.+\s*$/.test(text.split(';', 1)[0] as string);
}

/**
 * The upstream path (with its query, exactly as the client sent it) for a request to
 * `/<prefix>/...`, or null when it may not be forwarded ({@link PATH_POLICY}): a segment
 * some upstream would read as `.` or `..` could step out of the upstream's base path, and a
 * path that does not start under the prefix (an absolute-form target included) is not ours.
 *
 * @example
 * ```ts
 * upstreamPathOf('/proxy/orders/7?expand=items', 'proxy'); // '/orders/7?expand=items'
 * upstreamPathOf('/proxy', 'proxy');                       // '/'
 * upstreamPathOf('/proxy/../admin', 'proxy');              // null
 * upstreamPathOf('/proxy/..;/admin', 'proxy');             // null
 * upstreamPathOf('/proxy/%252e%252e/admin', 'proxy');      // null
 * ```
 */
export function upstreamPathOf(originalUrl: string, prefix: string): string | null {
  // One pass over the characters: this runs for every proxied request, and a split and two
  // regular expressions per segment cost more than the forwarding of a small request.
  if (originalUrl.charCodeAt(0) !== 0x2f /* / */ || !originalUrl.startsWith(prefix, 1)) return null;
  const length = originalUrl.length;
  const queryAt = originalUrl.indexOf('?');
  const pathEnd = queryAt === -1 ? length : queryAt;
  const restAt = 1 + prefix.length;
  if (restAt !== pathEnd && originalUrl.charCodeAt(restAt) !== 0x2f) return null;
  // Node's parser lets no byte outside visible ASCII into a target; held again here.
  for (let i = pathEnd; i < length; i++) {
    const code = originalUrl.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return null;
  }
  // Each segment of the rest, as sent: visible ASCII, so only `\\`, a dot-segment (before any
  // `;`) or a `%` (then decoded: segmentIsForwardable) can make it unsafe.
  let segmentAt = restAt + 1;
  let dotsOnly = true;
  let dots = 0;
  let parameters = false;
  let encoded = false;
  for (let i = segmentAt; i <= pathEnd; i++) {
    const code = i === pathEnd ? 0x2f : originalUrl.charCodeAt(i);
    if (code === 0x2f /* / */) {
      if (encoded ? !segmentIsForwardable(originalUrl.slice(segmentAt, i)) : dotsOnly && dots > 0) return null;
      segmentAt = i + 1;
      dotsOnly = true;
      dots = 0;
      parameters = false;
      encoded = false;
      continue;
    }
    if (code < 0x21 || code > 0x7e || code === 0x5c /* \\ */) return null;
    if (code === 0x25 /* % */) encoded = true;
    if (parameters) continue;
    if (code === 0x3b /* ; */) parameters = true;
    else if (code === 0x2e /* . */) dots++;
    else dotsOnly = false;
  }
  return restAt === pathEnd ? `/${originalUrl.slice(pathEnd)}` : originalUrl.slice(restAt);
}

/**
 * Whether a request target is the proxy's (`/<prefix>`, or under it), so that the front door
 * hands it to the proxy: the same targets Express routed to it (case-insensitive, with a query
 * or not, and absolute-form targets by their path), so that the proxy, not a 404, answers
 * those it refuses ({@link upstreamPathOf} says which).
 */
export function isProxyTarget(url: string, prefix: string): boolean {
  let at = 0;
  if (url.charCodeAt(0) !== 0x2f /* / */) {
    // Absolute-form (`http://host/proxy/x`): the path after the authority.
    const scheme = url.indexOf('://');
    if (scheme === -1) return false;
    at = url.indexOf('/', scheme + 3);
    if (at === -1) return false;
  }
  const end = at + 1 + prefix.length;
  if (url.length < end || url.slice(at + 1, end).toLowerCase() !== prefix) return false;
  const next = url.charCodeAt(end);
  // The end of the target, a path under the prefix, or a query.
  return Number.isNaN(next) || next === 0x2f || next === 0x3f;
}
