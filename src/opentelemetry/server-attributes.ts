import type { Attributes } from '@opentelemetry/api';

/**
 * The value OpenTelemetry's conventions use for "one of the others" (as `http.request.method`
 * does): every server address past the limit, every error type past its own.
 */
export const OTHER_VALUE = '_OTHER';

/** The attributes that say where a connection goes, as OpenTelemetry's HTTP conventions name them. */
export interface ServerAttributes extends Attributes {
  readonly 'server.address': string;
  /** Absent for the addresses past the limit (they share `server.address="_OTHER"`). */
  readonly 'server.port'?: number;
  readonly 'url.scheme': string;
  /** `'1.1'` or `'2'` for HTTP; absent when the protocol is not known. */
  readonly 'network.protocol.version'?: string;
}

/** An address's origin, read from the redacted form the pool shows (`https://host:443#digest`). */
interface Origin {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
}

// The redacted form starts with the origin; anything after it (" via ...", "#fingerprint") is
// another input of the key, which the conventions' attributes have no place for.
const ORIGIN = /^([a-z]+):\/\/(\[[^\]]*\]|[^/:#\s]+):(\d{1,5})(?=$|[\s#])/;
/** Cached attribute sets per address string at most this many times the address limit. */
const CACHE_FACTOR = 4;

/**
 * Attribute sets for the pool's (redacted) addresses, bounded as the Prometheus `address`
 * label is: the first `max` distinct origins (scheme, host, port) keep their own
 * `server.address`/`server.port`, every later one shares `server.address="_OTHER"` (no port),
 * so that a wild set of hosts cannot make an unbounded number of series. An origin keeps
 * its attributes once it has them. The sets are made once and shared (frozen): recording a
 * measurement allocates nothing.
 *
 * Nothing secret can get in: the redacted address holds no credential, and only its origin is
 * used.
 */
export class ServerAttributeSets {
  readonly #max: number;
  readonly #base: Attributes;
  /** Origins (`scheme://host:port`) that have attributes of their own. */
  readonly #origins = new Set<string>();
  /** The one set of each origin and version (so that a set can be a map key). */
  readonly #sets = new Map<string, ServerAttributes>();
  /** The sets of the origins past the limit, by scheme and version. */
  readonly #others = new Map<string, ServerAttributes>();
  /** By address string and version: spares parsing the address again. */
  readonly #cache = new Map<string, ServerAttributes>();

  /**
   * @param max distinct origins with attributes of their own
   * @param base attributes every set carries (the pool's name)
   */
  constructor(max: number, base: Attributes) {
    this.#max = max;
    this.#base = base;
  }

  /**
   * The attributes for a connection to `address` (the pool's redacted form) speaking
   * `version` (`'1.1'`, `'2'`, or undefined when not known).
   */
  for(address: string, version: string | undefined): ServerAttributes {
    const key = version === undefined ? address : `${address}\n${version}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const origin = parseOrigin(address);
    const originKey = origin === null ? null : `${origin.scheme}://${origin.host}:${origin.port}`;
    let attributes: ServerAttributes;
    if (origin !== null && originKey !== null && (this.#origins.has(originKey) || this.#origins.size < this.#max)) {
      this.#origins.add(originKey);
      const setKey = `${originKey} ${version ?? ''}`;
      attributes = this.#sets.get(setKey) ?? this.#made(this.#sets, setKey, {
        'server.address': origin.host,
        'server.port': origin.port,
        'url.scheme': origin.scheme,
        ...(version === undefined ? {} : { 'network.protocol.version': version }),
      });
    } else {
      const scheme = origin?.scheme ?? OTHER_VALUE;
      const setKey = `${scheme} ${version ?? ''}`;
      attributes = this.#others.get(setKey) ?? this.#made(this.#others, setKey, {
        'server.address': OTHER_VALUE,
        'url.scheme': scheme,
        ...(version === undefined ? {} : { 'network.protocol.version': version }),
      });
    }
    // The cache holds address strings, which are as unbounded as the hosts (and an origin may
    // have several: TLS options, partitions): past its size, an address is parsed again.
    if (this.#cache.size < this.#max * CACHE_FACTOR) this.#cache.set(key, attributes);
    return attributes;
  }

  #made(sets: Map<string, ServerAttributes>, key: string, fields: ServerAttributes): ServerAttributes {
    const attributes: ServerAttributes = Object.freeze({ ...this.#base, ...fields });
    sets.set(key, attributes);
    return attributes;
  }
}

/** The origin of a redacted address, or null if it does not start with one. */
export function parseOrigin(address: string): Origin | null {
  const match = ORIGIN.exec(address);
  if (match === null) return null;
  const [, scheme, host, port] = match as unknown as [string, string, string, string];
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return { scheme, host: bare, port: Number(port) };
}

/** True for the addresses of HTTP connections (the `http.client.*` instruments count only those). */
export function isHttpAddress(address: string): boolean {
  return address.startsWith('http://') || address.startsWith('https://');
}

/**
 * `network.protocol.version` of a connection to `address` whose transport agreed on
 * `alpnProtocol` (undefined: nothing negotiated): `'2'` for `h2`, `'1.1'` otherwise (the
 * pool's HTTP clients speak HTTP/1.1 over every other connection: there is no h2c), and
 * undefined for what is not HTTP.
 */
export function httpVersionOf(address: string, alpnProtocol: string | undefined): string | undefined {
  if (!isHttpAddress(address)) return undefined;
  if (alpnProtocol === 'h2') return '2';
  if (alpnProtocol === undefined || alpnProtocol === 'http/1.1') return '1.1';
  if (alpnProtocol === 'http/1.0') return '1.0';
  return undefined;
}

/**
 * Values of one attribute kept to `max` distinct ones (then {@link OTHER_VALUE}), for values
 * that come from outside (an error's code).
 */
export class BoundedValues {
  readonly #max: number;
  readonly #seen = new Set<string>();

  constructor(max: number) {
    this.#max = max;
  }

  valueOf(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max) return OTHER_VALUE;
    this.#seen.add(value);
    return value;
  }
}
