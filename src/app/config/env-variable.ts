import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseDuration, ConnectionPoolError } from '../../pool/index.js';

/**
 * One environment variable the service reads: its default (as it would be written in the
 * environment, so that the documented default and the parsed one cannot differ), what it
 * means, and how its text becomes a value.
 */
export interface EnvVariable<T> {
  /** The text used when the variable is unset or empty; undefined: the value is undefined. */
  readonly default: string | undefined;
  /** The default as the documentation shows it. */
  readonly defaultText: string;
  readonly description: string;
  /** Its value must never be printed, not even in an error about it. */
  readonly secret: boolean;
  /**
   * The value as an error about it may show it, when parts of it are secrets (a URL's
   * credentials and query); absent: shown as it is.
   */
  readonly redact?: (text: string) => string;
  /**
   * Turns the text into a value.
   *
   * @throws EnvValueError saying what was expected.
   */
  parse(text: string): T;
}

/** A value that does not parse; the loader adds the variable's name and value. */
export class EnvValueError extends Error {
  constructor(readonly expected: string) {
    super(expected);
    this.name = 'EnvValueError';
  }
}

interface Spec<T> {
  readonly default: string;
  readonly description: string;
  readonly parse: (text: string) => T;
  readonly defaultText?: string;
  readonly secret?: boolean;
  readonly redact?: (text: string) => string;
}

interface OptionalSpec<T> {
  /** What being unset means, for the documentation. */
  readonly unset: string;
  readonly description: string;
  readonly parse: (text: string) => T;
  readonly secret?: boolean;
  readonly redact?: (text: string) => string;
}

/** A variable that always has a value: its own, or the default. */
export function withDefault<T>(spec: Spec<T>): EnvVariable<T> {
  return {
    default: spec.default,
    defaultText: spec.defaultText ?? `\`${spec.default}\``,
    description: spec.description,
    secret: spec.secret ?? false,
    parse: spec.parse,
    ...(spec.redact === undefined ? {} : { redact: spec.redact }),
  };
}

/** A variable whose absence means something (no upstream URL: the embedded upstream). */
export function optional<T>(spec: OptionalSpec<T>): EnvVariable<T | undefined> {
  return {
    default: undefined,
    defaultText: spec.unset,
    description: spec.description,
    secret: spec.secret ?? false,
    parse: spec.parse,
    ...(spec.redact === undefined ? {} : { redact: spec.redact }),
  };
}

// ---- parsers ---------------------------------------------------------------------------

/** An integer >= `min`, or `Infinity` when allowed. */
export function integer(min: number, allowInfinity = false): (text: string) => number {
  const expected = `an integer >= ${min}${allowInfinity ? ", or 'Infinity'" : ''}`;
  return (text) => {
    if (allowInfinity && text === 'Infinity') return Infinity;
    if (!/^\d+$/.test(text)) throw new EnvValueError(expected);
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new EnvValueError(expected);
    return value;
  };
}

/** A TCP port: 0 (any free port) to 65535. */
export function port(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value <= 65_535)) throw new EnvValueError('a port number from 0 (any free port) to 65535');
  return value;
}

/**
 * A duration in milliseconds: a number of milliseconds, or `'250ms'`, `'30s'`, `'5m'`, `'1h'`
 * (the pool's own syntax), or `Infinity` when allowed.
 */
export function duration(allowInfinity: boolean): (text: string) => number {
  const expected = `a positive duration: milliseconds ('1500') or '250ms', '30s', '5m', '1h'${allowInfinity ? ", or 'Infinity'" : ''}`;
  return (text) => {
    const value = text === 'Infinity' ? Infinity : /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    try {
      return parseDuration('value', value, allowInfinity);
    } catch (error) {
      if (error instanceof ConnectionPoolError) throw new EnvValueError(expected);
      throw error;
    }
  };
}

/** An IP address or a host name to listen on. */
export function host(text: string): string {
  if (isIP(text) !== 0) return text;
  if (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(text)) return text;
  throw new EnvValueError("an IP address ('127.0.0.1', '0.0.0.0', '::') or a host name");
}

/**
 * An upstream origin (and optional base path): `http:` or `https:`, no credentials (they
 * would end up in logs and metrics), no query or fragment (the proxied request brings its own).
 */
export function upstreamUrl(text: string): URL {
  const expected = "an absolute http: or https: URL, such as 'http://orders.internal:8080' or 'https://api.example.com/v1'";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EnvValueError(expected);
  }
  // 'orders.internal:8080' parses, as a URL of scheme 'orders.internal:'.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EnvValueError(expected);
  if (url.username !== '' || url.password !== '') {
    throw new EnvValueError('a URL without credentials (user:password@ would be logged and shown in metrics)');
  }
  if (url.search !== '' || url.hash !== '') throw new EnvValueError('a URL without a query or fragment (only an origin and a base path)');
  return url;
}

/**
 * A URL as an error may show it: without its userinfo (`user:password@`) and without its
 * query and fragment, which often carry keys. Works on text that does not parse as a URL too
 * (`admin:s3cret@orders:8080` is refused because it parses as a URL of scheme `admin:`).
 *
 * @example
 * ```ts
 * urlWithoutSecrets('https://svc:s3cret@api.example.com/v1?key=abc'); // 'https://api.example.com/v1'
 * ```
 */
export function urlWithoutSecrets(text: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  const queryAt = text.slice(scheme.length).search(/[?#]/);
  const beforeQuery = queryAt === -1 ? text.slice(scheme.length) : text.slice(scheme.length, scheme.length + queryAt);
  // Up to the last '@' (a password may hold '/' or '@'): userinfo, however it ends.
  return `${scheme}${beforeQuery.slice(beforeQuery.lastIndexOf('@') + 1)}`;
}

/** The contents of a readable PEM file. */
export function pemFile(text: string): { readonly path: string; readonly pem: string } {
  let pem: string;
  try {
    pem = readFileSync(text, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unknown error';
    throw new EnvValueError(`the path of a readable PEM file (reading it failed: ${code})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new EnvValueError('a PEM file with at least one "-----BEGIN CERTIFICATE-----" block');
  return { path: text, pem };
}

/** A yes/no switch: `'true'` or `'false'` (also `1`/`0`, `yes`/`no`, `on`/`off`). */
export function boolean(text: string): boolean {
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes' || lower === 'on') return true;
  if (lower === 'false' || lower === '0' || lower === 'no' || lower === 'off') return false;
  throw new EnvValueError("'true' or 'false'");
}

/** One of `values`. */
export function oneOf<const T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    const lower = text.toLowerCase();
    const found = values.find((value) => value === lower);
    if (found === undefined) throw new EnvValueError(`one of ${values.map((v) => `'${v}'`).join(', ')}`);
    return found;
  };
}

/** A bearer token: at least 16 characters, none of them white space or control characters. */
export function bearerToken(text: string): string {
  // The value is a secret: what is wrong is said without showing it.
  if (/\s/.test(text) || [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new EnvValueError('a token without white space or control characters');
  if (text.length < 16) throw new EnvValueError('a token of at least 16 characters (e.g. `openssl rand -hex 32`)');
  return text;
}

/** A route path such as `pool/events`: letters, digits, `-`, `_`, `.`, `/`; kept without its leading slash. */
export function routePath(text: string): string {
  const path = text.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path) || path.split('/').some((segment) => /^\.+$/.test(segment))) {
    throw new EnvValueError("a route path such as '/pool/events' (letters, digits, '-', '_', '.' and '/')");
  }
  return path;
}
