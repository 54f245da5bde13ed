import type { ClientRequest } from 'node:http';
import { isIP, type LookupFunction } from 'node:net';
import type { Address, AddressInput, AddressOptions, TlsAddressOptions } from '../pool/index.js';

/** The TLS options Node passes to an agent that shape a connection (and so its reuse key). */
export const TLS_OPTION_NAMES = [
  'ALPNProtocols',
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'ciphers',
  'minVersion',
  'maxVersion',
  'rejectUnauthorized',
  'checkServerIdentity',
  'ecdhCurve',
  'sigalgs',
  'secureOptions',
  'crl',
] as const satisfies ReadonlyArray<keyof TlsAddressOptions>;

/** What Node passes to `agent.addRequest` (the request's options, normalised). */
export interface RequestOptions extends Partial<Record<(typeof TLS_OPTION_NAMES)[number], unknown>> {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  servername?: string;
  localAddress?: string;
  family?: number;
  socketPath?: string;
  lookup?: LookupFunction;
}

/** How an agent's requests map to pool addresses. */
export interface AddressRules {
  readonly protocol: 'http:' | 'https:';
  readonly tls: TlsAddressOptions | undefined;
  /** The partition of this request's connections (a lookup's, the agent's own createConnection's), if any. */
  readonly partition: string | undefined;
}

/** The pool address of a request with these options. */
export function addressOfRequest(options: RequestOptions, rules: AddressRules): AddressInput {
  const { protocol, partition } = rules;
  const host = stripBrackets(options.host ?? options.hostname ?? 'localhost');
  const port = options.port === undefined || options.port === null || options.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(options.port);
  const secure = protocol === 'https:';
  let tls: TlsAddressOptions | undefined;
  if (secure) {
    for (const name of TLS_OPTION_NAMES) {
      const value = options[name] ?? rules.tls?.[name];
      if (value !== undefined) (tls ??= {})[name] = value as never;
    }
    const servername = options.servername ?? rules.tls?.servername;
    // SNI defaults to the host: only a different name shapes the connection.
    if (servername && servername !== host && !(isIP(host) && servername === '')) (tls ??= {}).servername = servername;
  }
  const shaped =
    tls !== undefined || partition !== undefined || options.localAddress !== undefined || (options.family !== undefined && options.family !== 0) || options.socketPath !== undefined;
  if (!shaped) {
    // The common case: a URL string, which the pool resolves from a cache.
    return `${protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
  const address: AddressOptions = { host, port, protocol };
  if (secure) address.tls = tls ?? true;
  if (options.localAddress !== undefined) address.localAddress = options.localAddress;
  if (options.family === 4 || options.family === 6) address.family = options.family;
  if (options.socketPath !== undefined) address.socketPath = options.socketPath;
  if (partition !== undefined) address.partition = partition;
  return address;
}

/**
 * The options an agent's `createConnection` gets for a connection to `address`, as Node's
 * agent builds them: the agent's options, then where to connect and every TLS input.
 */
export function connectionOptions(address: Address, agentOptions: object): Record<string, unknown> {
  const options: Record<string, unknown> = { ...agentOptions, host: address.host, port: address.port, encoding: null };
  if (address.localAddress !== undefined) options.localAddress = address.localAddress;
  if (address.family !== undefined) options.family = address.family;
  if (address.socketPath !== undefined) options.path = address.socketPath;
  if (address.tls !== undefined) {
    Object.assign(options, address.tls);
    options.servername = address.tls.servername ?? (isIP(address.host) === 0 ? address.host : '');
  }
  return options;
}

/**
 * The name Node's agent files a request under (`agent.getName()` of its options merged with
 * the agent's), with the server name Node works out for TLS (from the Host header, else the
 * host; none for an IP).
 */
export function nameOptions(req: ClientRequest, options: object, agentOptions: object): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...options, ...agentOptions };
  if (!merged.servername && merged.servername !== '') merged.servername = serverNameFor(merged, req);
  return merged;
}

function serverNameFor(options: Record<string, unknown>, req: ClientRequest): string {
  let servername = String(options.host ?? '');
  const hostHeader = req.getHeader('host');
  if (typeof hostHeader === 'string' && hostHeader !== '') {
    if (hostHeader.startsWith('[')) {
      const end = hostHeader.indexOf(']');
      servername = end === -1 ? hostHeader : hostHeader.slice(1, end);
    } else {
      servername = hostHeader.split(':', 1)[0] ?? '';
    }
  }
  return isIP(servername) ? '' : servername;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
