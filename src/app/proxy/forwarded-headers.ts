import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { setForwardingHeaders, type ClientSide } from './forwarding-headers.js';
import { framingHeaders, type BodyFraming } from './request-framing.js';

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

/**
 * `headers` without the hop-by-hop ones: the fixed list, and every header the `Connection`
 * header names, except the framing fields and `Host` (RFC 9110 §7.6.1 lets a sender drop what
 * it names, never what frames the message).
 */
export function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connection = headers.connection;
  const named =
    connection === undefined
      ? null
      : new Set(
          String(connection)
            .split(',')
            .map((token) => token.trim().toLowerCase())
            .filter((token) => token !== '' && !NOT_NOMINATABLE.has(token)),
        );
  const result: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // Node's parser gives lower-case names already.
    if (HOP_BY_HOP.has(name) || (named !== null && named.has(name))) continue;
    result[name] = value;
  }
  return result;
}

/**
 * The headers to send upstream for a client's request whose body goes out as `framing`:
 *
 * - without hop-by-hop headers, `Host` (the client set it for this service; the HTTP client
 *   sets the upstream's), nor `Expect` (this server already answered `100 Continue`);
 * - with the framing the gateway decided (`Content-Length` or `Transfer-Encoding: chunked`,
 *   see `requestFramingOf`), never the client's own;
 * - with `Forwarded`, `X-Forwarded-*` and `X-Real-IP` as `trustProxy` says (see
 *   `setForwardingHeaders`).
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, framing: BodyFraming, client: ClientSide, trustProxy: boolean): OutgoingHttpHeaders {
  const result = withoutHopByHop(headers);
  delete result.host;
  delete result.expect;
  delete result['content-length'];
  Object.assign(result, framingHeaders(framing));
  setForwardingHeaders(result, headers, client, trustProxy);
  return result;
}

/** The headers to send the client for an upstream's response: without hop-by-hop headers. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(headers);
}
