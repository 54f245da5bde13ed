import type { Transport } from './transport.js';

// What the pool reads from a transport to show it (in connections() and events). A transport
// is the connector's: trust no type, and no getter not to throw.

/** The transport's ALPN protocol, if it names one. */
export function alpnOf(transport: Transport | null): string | undefined {
  return textOf(transport, 'alpnProtocol');
}

/** The network address the transport reached (see `Transport.remoteAddress`), if it says. */
export function remoteAddressOf(transport: Transport | null): string | undefined {
  return textOf(transport, 'remoteAddress');
}

function textOf(transport: Transport | null, field: 'alpnProtocol' | 'remoteAddress'): string | undefined {
  let value: unknown;
  try {
    value = transport?.[field];
  } catch {
    return undefined;
  }
  return typeof value === 'string' && value !== '' ? value : undefined;
}
