import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isForwardingHeader, setForwardingHeaders, type ClientSide } from './forwarding-headers.js';
import { setFramingHeaders, type BodyFraming } from './request-framing.js';

export type { ClientSide } from './forwarding-headers.js';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
 * proxy-specific and framing ones a proxy must not pass on: the next hop frames the message
 * itself.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Fields a `Connection` header may name but that stay the gateway's business: the framing
 * (computed from the body forwarded) and `Host` (always the upstream's). Naming them drops
 * the client's copy, which is dropped anyway; it never removes the gateway's.
 */
const NOT_NOMINATABLE = new Set(['content-length', 'transfer-encoding', 'host']);

/** The hop-by-hop fields `connection` names, but for those that stay the gateway's; null for none. */
function nominated(connection: string | string[] | undefined): Set<string> | null {
  if (connection === undefined) return null;
  // The common case (most responses and many requests): it names only itself, hop-by-hop anyway.
  if (typeof connection === 'string' && connection.length === 10 && connection.toLowerCase() === 'keep-alive') return null;
  const named = new Set<string>();
  for (const token of String(connection).split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !NOT_NOMINATABLE.has(name)) named.add(name);
  }
  return named;
}

/**
 * `headers` without the hop-by-hop ones: the fixed list, and every header the `Connection`
 * header names, except the framing fields and `Host` (RFC 9110 §7.6.1 lets a sender drop what
 * it names, never what frames the message); nor those `skip` says (lower-case names).
 */
export function withoutHopByHop(headers: IncomingHttpHeaders, skip?: (name: string) => boolean): OutgoingHttpHeaders {
  const named = nominated(headers.connection);
  const result: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // Node's parser gives lower-case names already.
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name)) || (skip !== undefined && skip(name))) continue;
    result[name] = value;
  }
  return result;
}

/**
 * Fields of the client's request that the gateway sets itself: `Host` (the client set it for
 * this service; the HTTP client sets the upstream's), `Expect` (this server already answered
 * `100 Continue`) and `Content-Length` (the framing is the gateway's). Left out of the copy
 * rather than deleted from it: an object that has had properties deleted turns into a slow
 * dictionary, and Node's HTTP client walks it for every request.
 */
const SET_BY_GATEWAY = new Set(['host', 'expect', 'content-length']);

const notForwarded = (name: string): boolean => SET_BY_GATEWAY.has(name);
const notForwardedNorForwarding = (name: string): boolean => SET_BY_GATEWAY.has(name) || isForwardingHeader(name);

/**
 * The headers to send upstream for a client's request whose body goes out as `framing`:
 *
 * - without hop-by-hop headers, `Host`, `Expect` (see {@link SET_BY_GATEWAY});
 * - with the framing the gateway decided (`Content-Length` or `Transfer-Encoding: chunked`,
 *   see `requestFramingOf`), never the client's own;
 * - with `Forwarded`, `X-Forwarded-*` and `X-Real-IP` as `trustProxy` says (see
 *   `setForwardingHeaders`).
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, framing: BodyFraming, client: ClientSide, trustProxy: boolean): OutgoingHttpHeaders {
  // Not trusted, the client's forwarding headers are replaced: not copied in the first place.
  const result = withoutHopByHop(headers, trustProxy ? notForwarded : notForwardedNorForwarding);
  setFramingHeaders(result, framing);
  setForwardingHeaders(result, headers, client, trustProxy);
  return result;
}

/** The headers to send the client for an upstream's response: without hop-by-hop headers. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(headers);
}
