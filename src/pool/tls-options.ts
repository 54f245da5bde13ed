import { InvalidOptionError } from './errors.js';

/** The TLS versions Node accepts for `minVersion` and `maxVersion`. */
const TLS_VERSIONS: readonly string[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Fields whose value is a secret: an error says what kind of value it got, never the value. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['key', 'pfx', 'passphrase']);

type Check = (value: unknown) => boolean;

const isString: Check = (value) => typeof value === 'string';
const isBytes: Check = (value) => typeof value === 'string' || value instanceof Uint8Array;
const isBytesOrList: Check = (value) => isBytes(value) || (Array.isArray(value) && value.every(isBytes));
const isKeyEntry =
  (field: 'pem' | 'buf'): Check =>
  (value) =>
    isBytes(value) ||
    (typeof value === 'object' &&
      value !== null &&
      isBytes((value as Record<string, unknown>)[field]) &&
      ((value as Record<string, unknown>).passphrase === undefined || isString((value as Record<string, unknown>).passphrase)));
const listOf =
  (entry: Check): Check =>
  (value) =>
    isBytes(value) || (Array.isArray(value) && value.every(entry));

/** What each TLS option must be, and how to say it. Options not listed go to Node unchecked. */
const CHECKS: Readonly<Record<string, readonly [Check, string]>> = {
  servername: [isString, 'a host name (string)'],
  ALPNProtocols: [
    (value) => Array.isArray(value) && value.length > 0 && value.every((name) => typeof name === 'string' && name.length > 0 && name.length < 256),
    "an array of protocol names, e.g. ['h2', 'http/1.1']",
  ],
  ca: [isBytesOrList, 'PEM text or a Buffer, or an array of them'],
  cert: [isBytesOrList, 'PEM text or a Buffer, or an array of them'],
  crl: [isBytesOrList, 'PEM text or a Buffer, or an array of them'],
  key: [listOf(isKeyEntry('pem')), 'PEM text or a Buffer, or an array of them or of { pem, passphrase? }'],
  pfx: [listOf(isKeyEntry('buf')), 'PKCS#12 data (a Buffer or string), or an array of them or of { buf, passphrase? }'],
  passphrase: [isString, 'a string'],
  ciphers: [isString, "an OpenSSL cipher list (string), e.g. 'TLS_AES_256_GCM_SHA384'"],
  ecdhCurve: [isString, "a curve name or list (string), e.g. 'X25519:prime256v1'"],
  sigalgs: [isString, "a list of signature algorithms (string), e.g. 'ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256'"],
  minVersion: [(value) => TLS_VERSIONS.includes(value as string), `one of ${TLS_VERSIONS.map((v) => `'${v}'`).join(', ')}`],
  maxVersion: [(value) => TLS_VERSIONS.includes(value as string), `one of ${TLS_VERSIONS.map((v) => `'${v}'`).join(', ')}`],
  rejectUnauthorized: [(value) => typeof value === 'boolean', 'true or false'],
  checkServerIdentity: [(value) => typeof value === 'function', 'a function (hostname, cert) => Error | undefined, as tls.checkServerIdentity'],
  secureOptions: [(value) => typeof value === 'number' && Number.isInteger(value) && value >= 0, 'an integer of OpenSSL SSL_OP_* flags'],
};

/** How a secret value is named in an error: its kind, never its content. */
function hidden(value: unknown): string {
  if (value === null) return '[hidden: null]';
  if (Array.isArray(value)) return '[hidden: an array]';
  if (value instanceof Uint8Array) return '[hidden: a Buffer]';
  return `[hidden: a ${typeof value}]`;
}

/**
 * Checks the types of the TLS options Node would otherwise reject deep inside `tls.connect`
 * (with `ERR_INTERNAL_ASSERTION` for a `checkServerIdentity` that is not a function, or "Must
 * give a Buffer as first argument" for an `ALPNProtocols` that is a string), so that a bad
 * option is refused where it is given. `undefined` values are left out, as Node does.
 *
 * @param prefix - how the options are named in the error (`'tls'`, `'proxyTls'`).
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) naming the option (`tls.ALPNProtocols`)
 * and its value (only its kind for `key`, `pfx` and `passphrase`).
 */
export function checkTlsOptions(prefix: string, options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(prefix, options, 'an object of TLS options (ca, cert, key, servername, ...)');
  }
  for (const [name, value] of Object.entries(options)) {
    // Own keys only: a field named like one of Object.prototype's ('toString') is not an option.
    const check = Object.hasOwn(CHECKS, name) ? CHECKS[name] : undefined;
    if (value === undefined || check === undefined) continue;
    const [valid, expected] = check;
    if (!valid(value)) throw new InvalidOptionError(`${prefix}.${name}`, SECRET_FIELDS.has(name) ? hidden(value) : value, expected);
  }
}
