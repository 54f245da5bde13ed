import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { TOKEN } from '../http-grammar.js';

/** What the proxy knows about the client side of a request, for `Forwarded` and `X-Forwarded-*`. */
export interface ClientSide {
  /** The client's address as the socket sees it. */
  readonly remoteAddress: string | undefined;
  /** `'http'` or `'https'`: how the client reached this service. */
  readonly protocol: 'http' | 'https';
  /** The port of this service the client connected to. */
  readonly localPort?: number | undefined;
}

/** The headers by which hops tell the upstream who the client is. */
const X_FORWARDED_PREFIX = 'x-forwarded-';

/**
 * Whether `name` (lower-case) is one of the headers by which hops tell the upstream who the
 * client is: `Forwarded`, any `X-Forwarded-*`, `X-Real-IP`.
 */
export function isForwardingHeader(name: string): boolean {
  return name.startsWith(X_FORWARDED_PREFIX) || name === 'forwarded' || name === 'x-real-ip';
}

function joined(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(', ') : value;
  const trimmed = text?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
function normaliseAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** A `Forwarded` parameter value: a token as it is, anything else quoted (RFC 7239 §4). */
function forwardedValue(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** This hop's `Forwarded` element (RFC 7239 §4): `for`, `host`, `proto`. */
function forwardedElement(client: string | undefined, host: string | undefined, protocol: string): string {
  // RFC 7239 §6: an IPv6 node is bracketed (and so quoted); an unknown one is "unknown".
  const node = client === undefined ? 'unknown' : client.includes(':') ? `[${client}]` : client;
  // Concatenated, not an array joined: this runs for every proxied request.
  return host === undefined ? `for=${forwardedValue(node)};proto=${protocol}` : `for=${forwardedValue(node)};host=${forwardedValue(host)};proto=${protocol}`;
}

/**
 * Sets the headers that tell the upstream about the client (`TRUST_PROXY`), in `result`,
 * which holds none of the client's when `trustProxy` is false ({@link isForwardingHeader}):
 *
 * - `trustProxy` false (the default: clients reach this service directly): whatever a client
 *   sent as `Forwarded`, `X-Forwarded-*` (any of them: `-For`, `-Proto`, `-Host`, `-Port`,
 *   `-Prefix`...) or `X-Real-IP` is dropped, and this hop's values are set: `Forwarded:
 *   for=<client>;host=<Host>;proto=<http|https>`, `X-Forwarded-For` the client's address,
 *   `-Proto`, `-Host` and `-Port` as this service was reached, `X-Real-IP` the client's address.
 *   A client cannot pass itself off as someone else.
 * - `trustProxy` true (a proxy this service trusts is in front and sets them): `Forwarded` and
 *   `X-Forwarded-For` are appended to with this hop's element and the address of the peer
 *   (RFC 7239 §4: a proxy adds its element to the end of the list); `X-Forwarded-Proto`,
 *   `-Host`, `-Port` and `X-Real-IP` are kept as the proxy in front set them (they describe
 *   the original request), and set from this hop when absent.
 */
export function setForwardingHeaders(result: OutgoingHttpHeaders, incoming: IncomingHttpHeaders, client: ClientSide, trustProxy: boolean): void {
  const address = normaliseAddress(client.remoteAddress);
  const host = incoming.host;
  const port = client.localPort === undefined ? undefined : String(client.localPort);
  const element = forwardedElement(address, host, client.protocol);
  if (!trustProxy) {
    result.forwarded = element;
    if (address !== undefined) result['x-forwarded-for'] = address;
    result['x-forwarded-proto'] = client.protocol;
    if (host !== undefined) result['x-forwarded-host'] = host;
    if (port !== undefined) result['x-forwarded-port'] = port;
    if (address !== undefined) result['x-real-ip'] = address;
    return;
  }
  const forwarded = joined(incoming.forwarded);
  result.forwarded = forwarded === undefined ? element : `${forwarded}, ${element}`;
  const chain = joined(incoming['x-forwarded-for']);
  setOrDelete(result, 'x-forwarded-for', chain === undefined ? address : address === undefined ? chain : `${chain}, ${address}`);
  result['x-forwarded-proto'] = joined(incoming['x-forwarded-proto']) ?? client.protocol;
  setOrDelete(result, 'x-forwarded-host', joined(incoming['x-forwarded-host']) ?? host);
  setOrDelete(result, 'x-forwarded-port', joined(incoming['x-forwarded-port']) ?? port);
  setOrDelete(result, 'x-real-ip', joined(incoming['x-real-ip']) ?? address);
}

function setOrDelete(headers: OutgoingHttpHeaders, name: string, value: string | undefined): void {
  if (value === undefined) delete headers[name];
  else headers[name] = value;
}
