import type { Transport } from './transport.js';

// What the pool reads from a transport to show it (in connections() and events). A transport
// is the connector's: trust no type.

/** The transport's ALPN protocol, if it names one. */
export function alpnOf(transport: Transport | null): string | undefined {
  const alpn = transport?.alpnProtocol;
  return typeof alpn === 'string' && alpn !== '' ? alpn : undefined;
}
