import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  objectIdentifier,
  octetString,
  sequence,
  set,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

/** A certificate and its private key, both PEM. */
export interface SelfSignedCertificate {
  readonly cert: string;
  readonly key: string;
}

/** Options of {@link createSelfSignedCertificate}. */
export interface SelfSignedCertificateOptions {
  /** Host names and IP addresses it is valid for; the first is its common name. */
  readonly names: readonly string[];
  /** How long it is valid, from an hour ago (clock skew). */
  readonly validForMs: number;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const BASIC_CONSTRAINTS = '2.5.29.19';
const SUBJECT_ALT_NAME = '2.5.29.17';
const EXTENDED_KEY_USAGE = '2.5.29.37';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * A fresh self-signed X.509 v3 server certificate (ECDSA P-256, SHA-256) made with node:crypto
 * alone, for the embedded upstream's TLS endpoint: no certificate is shipped, none can leak,
 * and no runtime dependency is needed. Clients trust it by passing `cert` as their CA.
 *
 * @example
 * ```ts
 * const { cert, key } = createSelfSignedCertificate({ names: ['localhost', '127.0.0.1'], validForMs: 86_400_000 });
 * http2.createSecureServer({ cert, key, allowHTTP1: true });
 * ```
 */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): SelfSignedCertificate {
  const [commonName] = options.names;
  if (commonName === undefined) throw new TypeError('A certificate needs at least one name.');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const algorithm = sequence(objectIdentifier(ECDSA_WITH_SHA256));
  const name = sequence(set(sequence(objectIdentifier(COMMON_NAME), utf8String(commonName))));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;

  const tbsCertificate = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // v3
    unsignedInteger(serial),
    algorithm,
    name, // issuer: itself
    sequence(time(new Date(now - 3_600_000)), time(new Date(now + options.validForMs))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      sequence(
        // Critical, cA FALSE: a server certificate that signs nothing else.
        sequence(objectIdentifier(BASIC_CONSTRAINTS), boolean(true), octetString(sequence())),
        sequence(objectIdentifier(SUBJECT_ALT_NAME), octetString(sequence(...options.names.map(generalName)))),
        sequence(objectIdentifier(EXTENDED_KEY_USAGE), octetString(sequence(objectIdentifier(SERVER_AUTH)))),
      ),
    ),
  );
  const signature = sign('sha256', tbsCertificate, privateKey);
  const der = sequence(tbsCertificate, algorithm, bitString(signature));
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A subjectAltName entry: iPAddress [7] for an IP, dNSName [2] otherwise. */
function generalName(name: string): Buffer {
  if (isIPv4(name)) return implicitPrimitive(7, Buffer.from(name.split('.').map(Number)));
  if (isIPv6(name)) return implicitPrimitive(7, ipv6Bytes(name));
  return implicitPrimitive(2, Buffer.from(name, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}
