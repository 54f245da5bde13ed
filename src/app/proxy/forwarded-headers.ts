import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

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

/** What the proxy knows about the client side of a request, for `X-Forwarded-*`. */
export interface ClientSide {
  /** The client's address as the socket sees it. */
  readonly remoteAddress: string | undefined;
  /** `'http'` or `'https'`: how the client reached this service. */
  readonly protocol: 'http' | 'https';
}

/**
 * `headers` without the hop-by-hop ones: the fixed list, and every header the `Connection`
 * header names.
 */
export function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const result: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    result[lower] = value;
  }
  return result;
}

/**
 * The headers to send upstream for a client's request: without hop-by-hop headers, `Host`
 * (the client set it for this service; Node sets the upstream's), nor `Expect` (this server
 * already answered `100 Continue`), and with `X-Forwarded-For` extended by the client's
 * address, `X-Forwarded-Proto` and `X-Forwarded-Host` set from this hop.
 *
 * `X-Forwarded-For` is appended to, as proxies do, so an upstream that trusts the hops in
 * front can read the chain; `-Proto` and `-Host` are this hop's, never a client's claim.
 */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, client: ClientSide): OutgoingHttpHeaders {
  const result = withoutHopByHop(headers);
  delete result.host;
  delete result.expect;
  const clientAddress = normaliseAddress(client.remoteAddress);
  const previous = headers['x-forwarded-for'];
  const chain = (Array.isArray(previous) ? previous.join(', ') : previous)?.trim();
  if (clientAddress !== undefined) result['x-forwarded-for'] = chain ? `${chain}, ${clientAddress}` : clientAddress;
  result['x-forwarded-proto'] = client.protocol;
  if (headers.host !== undefined) result['x-forwarded-host'] = headers.host;
  else delete result['x-forwarded-host'];
  return result;
}

/** The headers to send the client for an upstream's response: without hop-by-hop headers. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(headers);
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
function normaliseAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
