import { errors as undiciErrors } from 'undici';
/** A header as the request keeps it: its name as given, its value(s) as strings. */
type HeaderValue = string | string[];

/**
 * The request a dispatch describes, checked and copied when `dispatch()` is called, as
 * undici's Client does: what the server gets is what the caller asked for at that moment,
 * whatever the caller changes afterwards while the request waits for a connection. It is
 * what undici's Client (HTTP/1.1) and the HTTP/2 driver are given, on every attempt.
 */
export interface DispatchRequest {
  readonly origin: unknown;
  readonly path: string;
  readonly method: string;
  /** The body; an `ArrayBuffer` or a typed array other than a Buffer became a Buffer over the same bytes. */
  readonly body: unknown;
  /** The headers as a flat `[name, value, ...]` list, or null when there were none. */
  readonly headers: HeaderValue[] | null;
  readonly query: Record<string, unknown> | null | undefined;
  readonly idempotent: boolean | undefined;
  readonly blocking: boolean | undefined;
  readonly upgrade: string | null | undefined;
  readonly headersTimeout: number | null | undefined;
  readonly bodyTimeout: number | null | undefined;
  readonly reset: boolean | null | undefined;
  readonly expectContinue: boolean | null | undefined;
  readonly servername: string | null | undefined;
  readonly typeOfService: number | null | undefined;
}

/** The dispatch options undici reads, as a caller may pass them (anything may be wrong). */
interface RawDispatchOptions {
  origin?: unknown;
  path?: unknown;
  method?: unknown;
  body?: unknown;
  headers?: unknown;
  query?: unknown;
  idempotent?: unknown;
  blocking?: unknown;
  upgrade?: unknown;
  headersTimeout?: unknown;
  bodyTimeout?: unknown;
  reset?: unknown;
  expectContinue?: unknown;
  servername?: unknown;
  throwOnError?: unknown;
  maxRedirections?: unknown;
  typeOfService?: unknown;
}

const { InvalidArgumentError, NotSupportedError } = undiciErrors;

/**
 * Checks a dispatch as undici's Client does before it touches a connection (so an invalid
 * request opens none), and copies it. Throws undici's `InvalidArgumentError` (or
 * `NotSupportedError` for an `expect` header) with undici's message.
 *
 * The common case is checked first and cheaply: a string path and a known method, no
 * options beyond them, a few string headers.
 */
export function prepareDispatch(options: object, handler: object): DispatchRequest {
  const o = options as RawDispatchOptions;
  const { path, method, upgrade } = o;
  if (typeof path !== 'string') throw new InvalidArgumentError('path must be a string');
  if (path.charCodeAt(0) !== 0x2f /* '/' */ && !(path.startsWith('http://') || path.startsWith('https://')) && method !== 'CONNECT') {
    throw new InvalidArgumentError('path must be an absolute URL or start with a slash');
  }
  if (INVALID_PATH.test(path)) throw new InvalidArgumentError('invalid request path');
  if (typeof method !== 'string') throw new InvalidArgumentError('method must be a string');
  if (!KNOWN_METHODS.has(method) && !isToken(method)) throw new InvalidArgumentError('invalid request method');
  if (upgrade) {
    if (typeof upgrade !== 'string') throw new InvalidArgumentError('upgrade must be a string');
    if (!isHeaderValue(upgrade)) throw new InvalidArgumentError('invalid upgrade header');
  }
  checkOptionalNumber(o.headersTimeout, 'invalid headersTimeout');
  checkOptionalNumber(o.bodyTimeout, 'invalid bodyTimeout');
  if (o.reset != null && typeof o.reset !== 'boolean') throw new InvalidArgumentError('invalid reset');
  if (o.expectContinue != null && typeof o.expectContinue !== 'boolean') throw new InvalidArgumentError('invalid expectContinue');
  if (o.throwOnError != null) throw new InvalidArgumentError('invalid throwOnError');
  if (o.maxRedirections != null && o.maxRedirections !== 0) {
    throw new InvalidArgumentError('maxRedirections is not supported, use the redirect interceptor');
  }
  const tos = o.typeOfService;
  if (tos != null && (!Number.isInteger(tos) || (tos as number) < 0 || (tos as number) > 255)) {
    throw new InvalidArgumentError('typeOfService must be an integer between 0 and 255');
  }
  const query = o.query as Record<string, unknown> | null | undefined;
  if (query != null && (path.includes('?') || path.includes('#'))) {
    throw new InvalidArgumentError('Query params cannot be passed when url already contains "?" or "#".');
  }
  const body = normaliseBody(o.body);
  const copied = copyHeaders(o.headers);
  checkHandler(handler, method, upgrade);
  return {
    origin: o.origin,
    path,
    method,
    body,
    headers: copied.headers,
    query,
    idempotent: o.idempotent as boolean | undefined,
    blocking: o.blocking as boolean | undefined,
    upgrade: upgrade as string | null | undefined,
    headersTimeout: o.headersTimeout as number | null | undefined,
    bodyTimeout: o.bodyTimeout as number | null | undefined,
    // `Connection: close` asks for what `reset` does (undici reads it so).
    reset: copied.close ? true : (o.reset as boolean | null | undefined),
    expectContinue: o.expectContinue as boolean | null | undefined,
    servername: o.servername as string | null | undefined,
    typeOfService: tos as number | null | undefined,
  };
}

/** Control characters, space and anything past U+00FF: never in a request target. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
/** What a field value may hold (RFC 9110 5.5): no CR, LF, NUL or other controls but HTAB. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'QUERY']);

/** RFC 9110 tchar: `!#$%&'*+-.^_\`|~`, digits and letters. */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_CHARS[c.charCodeAt(0)] = 1;

function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || TOKEN_CHARS[code] !== 1) return false;
  }
  return true;
}

function isHeaderValue(text: string): boolean {
  return !INVALID_HEADER_VALUE.test(text);
}

function checkOptionalNumber(value: unknown, message: string): void {
  if (value != null && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) throw new InvalidArgumentError(message);
}

function normaliseBody(body: unknown): unknown {
  if (body === null || body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (typeof body === 'object' && (isFormDataLike(body) || isIterable(body) || isBlobLike(body) || isStream(body))) return body;
  throw new InvalidArgumentError('body must be a string, a Buffer, a Readable stream, an iterable, or an async iterable');
}

function isStream(value: object): boolean {
  return typeof (value as { pipe?: unknown }).pipe === 'function' && typeof (value as { on?: unknown }).on === 'function';
}

function isIterable(value: object): boolean {
  return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isBlobLike(value: object): boolean {
  if (value instanceof Blob) return true;
  const tag = (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return (tag === 'Blob' || tag === 'File') && (typeof (value as Blob).stream === 'function' || typeof (value as Blob).arrayBuffer === 'function');
}

/** FormData of any realm (Node's global one, the undici package's), as undici recognises it. */
export function isFormDataLike(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const form = value as Record<string, unknown>;
  return (
    typeof form.append === 'function' &&
    typeof form.delete === 'function' &&
    typeof form.get === 'function' &&
    typeof form.getAll === 'function' &&
    typeof form.has === 'function' &&
    typeof form.set === 'function' &&
    form[Symbol.toStringTag as unknown as string] === 'FormData'
  );
}

/** What reading the headers found that shapes the request. */
interface CopiedHeaders {
  readonly headers: HeaderValue[] | null;
  /** A `Connection` header listed `close`. */
  readonly close: boolean;
}

const NO_HEADERS: CopiedHeaders = { headers: null, close: false };

/** Copies the headers (any shape undici takes) into a flat list, checking each as undici does. */
function copyHeaders(headers: unknown): CopiedHeaders {
  if (headers === null || headers === undefined) return NO_HEADERS;
  const state: HeaderState = { out: [], host: false, contentLength: false, close: false };
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) throw new InvalidArgumentError('headers array must be even');
    for (let i = 0; i < headers.length; i += 2) addHeader(state, headers[i], headers[i + 1]);
  } else if (typeof headers === 'object') {
    if (hasOwnIterator(headers)) {
      for (const pair of headers as Iterable<unknown>) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new InvalidArgumentError('headers must be in key-value pair format');
        addHeader(state, pair[0], pair[1]);
      }
    } else {
      const record = headers as Record<string, unknown>;
      for (const name of Object.keys(record)) addHeader(state, name, record[name]);
    }
  } else {
    throw new InvalidArgumentError('headers must be an object or an array');
  }
  return { headers: state.out, close: state.close };
}

/** An iterator of the object's own or of a class, never one planted on Object.prototype. */
function hasOwnIterator(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return (
    Object.prototype.hasOwnProperty.call(value, Symbol.iterator) ||
    (prototype !== null && prototype !== Object.prototype && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function')
  );
}

interface HeaderState {
  readonly out: HeaderValue[];
  host: boolean;
  contentLength: boolean;
  close: boolean;
}

function addHeader(state: HeaderState, rawName: unknown, rawValue: unknown): void {
  if (rawValue === undefined) return;
  const name = typeof rawName === 'string' ? rawName : String(rawName);
  if (rawValue !== null && typeof rawValue === 'object' && !Array.isArray(rawValue)) throw new InvalidArgumentError(`invalid ${name} header`);
  const lower = name.toLowerCase();
  if (!isToken(lower)) throw new InvalidArgumentError('invalid header key');
  const value = headerValue(name, rawValue);
  switch (lower) {
    case 'host':
      if (state.host) throw new InvalidArgumentError('duplicate host header');
      if (typeof value !== 'string') throw new InvalidArgumentError('invalid host header');
      state.host = true;
      break;
    case 'content-length':
      if (state.contentLength) throw new InvalidArgumentError('duplicate content-length header');
      if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new InvalidArgumentError('invalid content-length header');
      state.contentLength = true;
      break;
    case 'transfer-encoding':
    case 'keep-alive':
    case 'upgrade':
      throw new InvalidArgumentError(`invalid ${lower} header`);
    case 'connection':
      if (typeof value !== 'string') throw new InvalidArgumentError('invalid connection header');
      for (const option of value.toLowerCase().split(',')) {
        const token = option.trim();
        if (!isToken(token)) throw new InvalidArgumentError('invalid connection header');
        if (token === 'close') state.close = true;
      }
      // undici sends no Connection header of the caller's: it writes its own.
      return;
    case 'expect':
      throw new NotSupportedError('expect header not supported');
  }
  state.out.push(name, value);
}

/** The value(s) as strings, as undici makes them: null is empty, other primitives are coerced. */
function headerValue(name: string, value: unknown): HeaderValue {
  if (typeof value === 'string') {
    if (!isHeaderValue(value)) throw new InvalidArgumentError(`invalid ${name} header`);
    return value;
  }
  if (Array.isArray(value)) {
    const values: string[] = [];
    for (const item of value as unknown[]) {
      if (item === null) {
        values.push('');
        continue;
      }
      if (typeof item === 'object') throw new InvalidArgumentError(`invalid ${name} header`);
      const text = typeof item === 'string' ? item : coerce(name, item);
      if (!isHeaderValue(text)) throw new InvalidArgumentError(`invalid ${name} header`);
      values.push(text);
    }
    return values;
  }
  if (value === null) return '';
  const text = coerce(name, value);
  if (!isHeaderValue(text)) throw new InvalidArgumentError(`invalid ${name} header`);
  return text;
}

/** A primitive as text; a function (whose text could be anything) is refused. */
function coerce(name: string, value: unknown): string {
  if (typeof value === 'function' || typeof value === 'symbol') throw new InvalidArgumentError(`invalid ${name} header`);
  return String(value);
}

/**
 * undici's check of the handler: a handler of the newer interface (`onRequestStart`) passes;
 * one of the older interface needs `onConnect` and `onError`, and `onHeaders`, `onData` and
 * `onComplete` (or `onUpgrade` for an upgrade or CONNECT).
 */
function checkHandler(handler: object, method: string, upgrade: unknown): void {
  const h = handler as Record<string, unknown>;
  if (typeof h.onRequestStart === 'function') return;
  if (typeof h.onConnect !== 'function') throw new InvalidArgumentError('invalid onConnect method');
  if (typeof h.onError !== 'function') throw new InvalidArgumentError('invalid onError method');
  if (typeof h.onBodySent !== 'function' && h.onBodySent !== undefined) throw new InvalidArgumentError('invalid onBodySent method');
  if (upgrade || method === 'CONNECT') {
    if (typeof h.onUpgrade !== 'function') throw new InvalidArgumentError('invalid onUpgrade method');
    return;
  }
  if (typeof h.onHeaders !== 'function') throw new InvalidArgumentError('invalid onHeaders method');
  if (typeof h.onData !== 'function') throw new InvalidArgumentError('invalid onData method');
  if (typeof h.onComplete !== 'function') throw new InvalidArgumentError('invalid onComplete method');
}
