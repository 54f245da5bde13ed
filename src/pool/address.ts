import { createHmac, randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { InvalidAddressError, describeValue } from './errors.js';
import { checkTlsOptions } from './tls-options.js';

/** The schemes the pool understands. `http:`/`tcp:` are cleartext; `https:`/`tls:` are TLS. */
export type AddressProtocol = 'http:' | 'https:' | 'tcp:' | 'tls:';

/**
 * TLS inputs that shape a connection. Every one of them enters the address key, so a
 * connection made with one value never serves a request made with another. Key
 * material (`key`, `pfx`, `passphrase`, ...) enters the key only as a keyed digest.
 */
export interface TlsAddressOptions {
  servername?: string;
  ALPNProtocols?: readonly string[];
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  cert?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  key?: string | Uint8Array | ReadonlyArray<string | Uint8Array | { pem: string | Uint8Array; passphrase?: string }>;
  pfx?: string | Uint8Array | ReadonlyArray<string | Uint8Array | { buf: string | Uint8Array; passphrase?: string }>;
  passphrase?: string;
  ciphers?: string;
  minVersion?: string;
  maxVersion?: string;
  rejectUnauthorized?: boolean;
  checkServerIdentity?: (hostname: string, cert: unknown) => Error | undefined;
  ecdhCurve?: string;
  sigalgs?: string;
  secureOptions?: number;
  crl?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
}

/** An address given as an object rather than a URL. */
export interface AddressOptions {
  host: string;
  /** Defaults to 80 for `http:`, 443 for `https:`; required for `tcp:`/`tls:`. */
  port?: number;
  /** Defaults to `tls:` when `tls` is set, else `tcp:`. */
  protocol?: AddressProtocol;
  /** `true` or TLS options for a TLS connection. */
  tls?: boolean | TlsAddressOptions;
  /** Local interface to bind. */
  localAddress?: string;
  /** 4 or 6 to force an IP family. */
  family?: 0 | 4 | 6;
  /** Connect to a Unix domain socket instead of host:port (host still names the origin). */
  socketPath?: string;
  /** An HTTP proxy URL (credentials allowed: they enter the key only as a digest). */
  proxy?: string | URL;
  /**
   * Connections are shared only between acquirers of the same partition. A client that binds
   * state of its own to a connection for the connection's whole life (the undici Dispatcher's
   * HTTP/1.1 parser) keeps its connections apart this way; so can tenants that must not share.
   * Any non-empty string; not a secret (it appears in the key as it is).
   */
  partition?: string;
}

/** What `acquire()` accepts: a URL string, a `URL`, or {@link AddressOptions}. */
export type AddressInput = string | URL | AddressOptions;

/**
 * The pool's frozen view of where a connection goes. Two acquires share a connection only
 * if their keys are equal.
 */
export interface Address {
  /** Complete identity, for equality. Secrets appear in it only as keyed digests. */
  readonly key: string;
  readonly protocol: AddressProtocol;
  /** Host name or IP literal, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  /** TLS options when the protocol is `https:` or `tls:` (an empty object when none were given). */
  readonly tls?: Readonly<TlsAddressOptions>;
  readonly localAddress?: string;
  readonly family?: 0 | 4 | 6;
  readonly socketPath?: string;
  /** The proxy URL, credentials included (for the connector; never shown). */
  readonly proxy?: URL;
  /** The partition the connection belongs to (see {@link AddressOptions.partition}). */
  readonly partition?: string;
  /** The redacted form, safe for logs, events and metrics. */
  toString(): string;
}

const PROTOCOLS: ReadonlySet<string> = new Set(['http:', 'https:', 'tcp:', 'tls:']);
const DEFAULT_PORTS: Record<string, number | undefined> = { 'http:': 80, 'https:': 443 };

// Digests are keyed with a secret made at start-up, so a digest shown anywhere cannot be
// brute-forced back into a short passphrase.
const DIGEST_KEY = randomBytes(32);
const bufferDigests = new WeakMap<object, string>();
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

function digest(value: string | Uint8Array): string {
  if (typeof value !== 'string') {
    const known = bufferDigests.get(value);
    if (known) return known;
    const computed = createHmac('sha256', DIGEST_KEY).update(value).digest('base64url').slice(0, 22);
    bufferDigests.set(value, computed);
    return computed;
  }
  return createHmac('sha256', DIGEST_KEY).update(value).digest('base64url').slice(0, 22);
}

/** A number per function or object instance, for inputs whose identity is all we can compare. */
function identityOf(value: object): number {
  let id = objectIds.get(value);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(value, id);
  }
  return id;
}

/** Canonical, secret-free text for one TLS input. */
function keyPart(name: string, value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'function') return `${name}=fn#${identityOf(value)}`;
  if (typeof value === 'boolean' || typeof value === 'number') return `${name}=${value}`;
  if (typeof value === 'string' && PLAIN_TLS_FIELDS.has(name)) return `${name}=${JSON.stringify(value)}`;
  if (typeof value === 'string' || value instanceof Uint8Array) return `${name}=#${digest(value)}`;
  if (Array.isArray(value)) {
    if (name === 'ALPNProtocols') return `${name}=${JSON.stringify(value)}`;
    return `${name}=[${value.map((item: unknown) => keyPart('', item)).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    // An instance (a tls.SecureContext, a KeyObject...) may hide what shapes the connection
    // in native state that has no enumerable keys: only the same object is the same input.
    if (!isPlainObject(value)) return `${name}=obj#${identityOf(value)}`;
    const entries = Object.keys(value)
      .sort()
      .map((k) => keyPart(k, (value as Record<string, unknown>)[k]))
      .filter(Boolean);
    return `${name}={${entries.join(',')}}`;
  }
  throw new InvalidAddressError(`TLS option "${name}" has an unsupported value ${describeValue(value)}`);
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** TLS inputs that are not secret and may appear as they are in the key. */
const PLAIN_TLS_FIELDS: ReadonlySet<string> = new Set([
  'servername',
  'ciphers',
  'minVersion',
  'maxVersion',
  'ecdhCurve',
  'sigalgs',
]);

// Node's util.inspect hook, by its registered name: the engine imports nothing of Node's.
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

class FrozenAddress implements Address {
  readonly key: string;
  readonly protocol: AddressProtocol;
  readonly host: string;
  readonly port: number;
  readonly tls?: Readonly<TlsAddressOptions>;
  readonly localAddress?: string;
  readonly family?: 0 | 4 | 6;
  readonly socketPath?: string;
  readonly proxy?: URL;
  readonly partition?: string;
  readonly #shown: string;

  constructor(fields: Omit<Address, 'key' | 'toString'>) {
    this.protocol = fields.protocol;
    this.host = fields.host;
    this.port = fields.port;
    // Arrays are copied too: the caller may reuse and change theirs, and what the connector
    // uses must stay what the key was made from.
    if (fields.tls) this.tls = Object.freeze(copyArrays(fields.tls));
    if (fields.localAddress !== undefined) this.localAddress = fields.localAddress;
    if (fields.family !== undefined && fields.family !== 0) this.family = fields.family;
    if (fields.socketPath !== undefined) this.socketPath = fields.socketPath;
    if (fields.proxy !== undefined) this.proxy = fields.proxy;
    if (fields.partition !== undefined) this.partition = fields.partition;

    const origin = `${this.protocol}//${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    const extras: string[] = [];
    if (this.tls) {
      for (const name of Object.keys(this.tls).sort()) {
        const part = keyPart(name, (this.tls as Record<string, unknown>)[name]);
        if (part) extras.push(`tls.${part}`);
      }
    }
    if (this.localAddress !== undefined) extras.push(`localAddress=${this.localAddress}`);
    if (this.family !== undefined) extras.push(`family=${this.family}`);
    if (this.socketPath !== undefined) extras.push(`socketPath=${JSON.stringify(this.socketPath)}`);
    if (this.proxy !== undefined) {
      const credentials = this.proxy.username || this.proxy.password ? `#${digest(`${this.proxy.username}:${this.proxy.password}`)}` : '';
      extras.push(`proxy=${this.proxy.protocol}//${this.proxy.host}${credentials}`);
    }
    if (this.partition !== undefined) extras.push(`partition=${JSON.stringify(this.partition)}`);
    this.key = extras.length === 0 ? origin : `${origin}|${extras.join('|')}`;
    // The shown form names the origin and, when other inputs shape the connection, a short
    // fingerprint of them so that different keys stay distinguishable without revealing them.
    const via = this.proxy ? ` via ${this.proxy.protocol}//${this.proxy.host}` : this.socketPath ? ` via unix:${this.socketPath}` : '';
    this.#shown = extras.length === 0 ? origin : `${origin}${via}#${digest(this.key).slice(0, 8)}`;
    Object.freeze(this);
  }

  toString(): string {
    return this.#shown;
  }

  toJSON(): string {
    return this.#shown;
  }

  /**
   * What `console.log` and `util.inspect` show: the redacted form. Without it they would
   * print the fields, TLS key material and proxy credentials included.
   */
  [INSPECT](): string {
    return `Address<${this.#shown}>`;
  }
}

function copyArrays(tls: TlsAddressOptions): TlsAddressOptions {
  const copy: Record<string, unknown> = { ...tls };
  for (const name of Object.keys(copy)) {
    const value = copy[name];
    if (Array.isArray(value)) copy[name] = Object.freeze([...(value as unknown[])]);
  }
  return copy as TlsAddressOptions;
}

function normaliseHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // An IPv6 zone id names an interface, and interface names are case-sensitive: only the
  // address before it is case-insensitive.
  const zone = bare.indexOf('%');
  return zone === -1 ? bare.toLowerCase() : `${bare.slice(0, zone).toLowerCase()}${bare.slice(zone)}`;
}

function checkPort(port: unknown, source: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidAddressError(`port ${describeValue(port)} in ${source} is not an integer from 1 to 65535`);
  }
  return port;
}

function fromUrl(url: URL, source: string): Address {
  if (!PROTOCOLS.has(url.protocol)) {
    throw new InvalidAddressError(`unsupported scheme "${url.protocol}" in ${source}`);
  }
  if (!url.hostname) throw new InvalidAddressError(`no host in ${source}`);
  const protocol = url.protocol as AddressProtocol;
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[protocol];
  if (port === undefined) throw new InvalidAddressError(`${protocol} URLs need a port, and ${source} has none`);
  const secure = protocol === 'https:' || protocol === 'tls:';
  return new FrozenAddress({ protocol, host: normaliseHost(hostOf(url, source)), port, ...(secure ? { tls: {} } : {}) });
}

/**
 * The URL parser turns the host of http:/https: URLs into ASCII (punycode) but leaves that of
 * tcp:/tls: URLs percent-encoded; do the same for them, so 'tcp://bücher.example' goes where
 * 'http://bücher.example' goes.
 */
function hostOf(url: URL, source: string): string {
  const hostname = url.hostname;
  if (url.protocol === 'http:' || url.protocol === 'https:' || hostname.startsWith('[') || !hostname.includes('%')) return hostname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(hostname);
  } catch {
    throw new InvalidAddressError(`the host in ${source} is not valid`);
  }
  const ascii = domainToASCII(decoded);
  if (!ascii) throw new InvalidAddressError(`the host in ${source} is not a valid domain name`);
  return ascii;
}

function fromOptions(options: AddressOptions): Address {
  if (typeof options.host !== 'string' || options.host.length === 0) {
    throw new InvalidAddressError(`host ${describeValue(options.host)} must be a non-empty string`);
  }
  const tlsGiven = options.tls !== undefined && options.tls !== false;
  const protocol = options.protocol ?? (tlsGiven ? 'tls:' : 'tcp:');
  if (!PROTOCOLS.has(protocol)) throw new InvalidAddressError(`unsupported protocol ${describeValue(protocol)}`);
  const secure = protocol === 'https:' || protocol === 'tls:';
  if (tlsGiven && !secure) {
    throw new InvalidAddressError(`TLS options were given with the cleartext protocol "${protocol}"; use "https:" or "tls:"`);
  }
  if (options.tls !== undefined && typeof options.tls !== 'boolean' && (typeof options.tls !== 'object' || options.tls === null)) {
    throw new InvalidAddressError(`tls ${describeValue(options.tls)} must be true, false or an object of TLS options`);
  }
  if (typeof options.tls === 'object') checkTlsOptions('tls', options.tls);
  const port = checkPort(options.port ?? DEFAULT_PORTS[protocol], `{ host: ${JSON.stringify(options.host)} }`);
  if (options.family !== undefined && options.family !== 0 && options.family !== 4 && options.family !== 6) {
    throw new InvalidAddressError(`family ${describeValue(options.family)} must be 0, 4 or 6`);
  }
  if (options.partition !== undefined && (typeof options.partition !== 'string' || options.partition.length === 0)) {
    throw new InvalidAddressError(`partition ${describeValue(options.partition)} must be a non-empty string`);
  }
  let proxy: URL | undefined;
  if (options.proxy !== undefined) {
    try {
      proxy = new URL(String(options.proxy));
    } catch {
      throw new InvalidAddressError('the proxy is not a valid URL');
    }
  }
  return new FrozenAddress({
    protocol,
    host: normaliseHost(options.host),
    port,
    ...(secure ? { tls: typeof options.tls === 'object' ? options.tls : {} } : {}),
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    ...(options.family !== undefined ? { family: options.family } : {}),
    ...(options.socketPath !== undefined ? { socketPath: options.socketPath } : {}),
    ...(proxy ? { proxy } : {}),
    ...(options.partition !== undefined ? { partition: options.partition } : {}),
  });
}

/**
 * Parses what users pass to `acquire()`. URL strings are cached (bounded), so the hot path
 * of a repeated acquire costs a map lookup.
 */
export class AddressResolver {
  readonly #byUrl = new Map<string, Address>();
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  resolve(input: AddressInput): Address {
    if (typeof input === 'string') return this.#fromString(input);
    if (input instanceof URL) return this.#fromString(input.href);
    if (typeof input === 'object' && input !== null) {
      if (isAddress(input)) return input;
      return fromOptions(input);
    }
    throw new InvalidAddressError(`got ${describeValue(input)}`);
  }

  #fromString(href: string): Address {
    const cached = this.#byUrl.get(href);
    if (cached) return cached;
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      throw new InvalidAddressError(`${describeValue(redactUrlText(href))} is not a valid URL`);
    }
    const address = fromUrl(url, describeValue(redactUrlText(href)));
    // A simple bound: a process that talks to a wild set of URLs cannot grow this forever.
    if (this.#byUrl.size >= this.#capacity) this.#byUrl.clear();
    this.#byUrl.set(href, address);
    return address;
  }
}

/** True for an {@link Address} the pool made (so one can be passed back to `acquire`). */
export function isAddress(value: unknown): value is Address {
  return value instanceof FrozenAddress;
}

/**
 * Strips credentials from URL-like text before it goes into an error message. A password may
 * hold '/' or '@', and the URL parser takes '\\' or nothing for '//': so everything between
 * the scheme and the last '@' goes (a path with an '@' in it loses a little more than needed).
 */
function redactUrlText(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(text)?.[0] ?? '';
  return `${scheme}//***${text.slice(at)}`;
}
