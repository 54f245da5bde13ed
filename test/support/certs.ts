import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A certificate and its private key, both PEM. */
export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
}

/** A client certificate, with its key also encrypted under a passphrase. */
export interface TestClientCertificate extends TestCertificate {
  /** `key`, encrypted (PKCS#8, AES-256-CBC) with `passphrase`. */
  readonly encryptedKey: string;
  readonly passphrase: string;
}

/** Everything the TLS tests need, made fresh for each test run (see {@link testCerts}). */
export interface TestCerts {
  /** The test CA: every certificate below except `otherCa` is signed by it. */
  readonly ca: TestCertificate;
  /** A CA that signed none of the servers' certificates: trusting only it is the "wrong CA". */
  readonly otherCa: TestCertificate;
  /** A server certificate for `localhost` and `127.0.0.1`. */
  readonly server: TestCertificate;
  /** The same names, valid last year only. */
  readonly expired: TestCertificate;
  /** A server certificate for `wrong.example.test` only. */
  readonly wrongHost: TestCertificate;
  /** A client certificate (clientAuth), for mutual TLS. */
  readonly client: TestClientCertificate;
}

const DAY_MS = 86_400_000;

interface KeyPair {
  readonly pem: string;
  readonly forgePrivate: forge.pki.rsa.PrivateKey;
  readonly forgePublic: forge.pki.rsa.PublicKey;
}

// Keys come from Node's crypto (native, milliseconds) rather than forge's pure-JS RSA
// (seconds each); forge makes and signs the certificates.
function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    pem: privateKey,
    forgePrivate: forge.pki.privateKeyFromPem(privateKey),
    forgePublic: forge.pki.publicKeyFromPem(publicKey),
  };
}

interface Issuer {
  readonly cert: forge.pki.Certificate;
  readonly keys: KeyPair;
}

interface CertificateSpec {
  readonly commonName: string;
  readonly keys: KeyPair;
  /** Signed by this issuer; self-signed when absent. */
  readonly issuer?: Issuer;
  readonly isCa?: boolean;
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
  readonly usage?: 'serverAuth' | 'clientAuth';
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function issue(spec: CertificateSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.keys.forgePublic;
  // A positive, minimally encoded DER integer: first byte 0x01-0x7f.
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  const subject = [{ name: 'commonName', value: spec.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : subject);
  const extensions: object[] = [{ name: 'subjectKeyIdentifier' }];
  if (spec.isCa) {
    extensions.push(
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    );
  } else {
    extensions.push(
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: spec.usage === 'serverAuth', clientAuth: spec.usage === 'clientAuth' },
    );
  }
  const altNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(spec.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  if (spec.issuer) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: spec.issuer.cert.generateSubjectKeyIdentifier().getBytes() });
  cert.setExtensions(extensions);
  cert.sign(spec.issuer ? spec.issuer.keys.forgePrivate : spec.keys.forgePrivate, forge.md.sha256.create());
  return cert;
}

function pem(cert: forge.pki.Certificate, keys: KeyPair): TestCertificate {
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** Makes a new test PKI (use {@link testCerts} for the cached one). */
export function generateTestCerts(): TestCerts {
  const now = Date.now();
  const valid = { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + 365 * DAY_MS) };
  const caKeys = newKeyPair();
  const caCert = issue({ commonName: 'reactive-connection-pool test CA', keys: caKeys, isCa: true, ...valid });
  const ca: Issuer = { cert: caCert, keys: caKeys };
  const otherCaKeys = newKeyPair();
  const otherCaCert = issue({ commonName: 'reactive-connection-pool other CA', keys: otherCaKeys, isCa: true, ...valid });
  // One key for every server certificate: they differ in names and dates, not in keys.
  const serverKeys = newKeyPair();
  const server = { commonName: 'localhost', keys: serverKeys, issuer: ca, usage: 'serverAuth' as const };
  const clientKeys = newKeyPair();
  const passphrase = `pass-${randomBytes(12).toString('hex')}`;
  return {
    ca: pem(caCert, caKeys),
    otherCa: pem(otherCaCert, otherCaKeys),
    server: pem(issue({ ...server, dnsNames: ['localhost'], ips: ['127.0.0.1'], ...valid }), serverKeys),
    expired: pem(
      issue({
        ...server,
        dnsNames: ['localhost'],
        ips: ['127.0.0.1'],
        notBefore: new Date(now - 730 * DAY_MS),
        notAfter: new Date(now - 365 * DAY_MS),
      }),
      serverKeys,
    ),
    wrongHost: pem(issue({ ...server, commonName: 'wrong.example.test', dnsNames: ['wrong.example.test'], ...valid }), serverKeys),
    client: {
      ...pem(issue({ commonName: 'test-client', keys: clientKeys, issuer: ca, usage: 'clientAuth', ...valid }), clientKeys),
      encryptedKey: createPrivateKey(clientKeys.pem)
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
        .toString(),
      passphrase,
    },
  };
}

let cached: TestCerts | undefined;

/**
 * The test PKI: a CA, server certificates (good, expired, wrong host), a client
 * certificate and an unrelated CA. Made once per test run (per test file: vitest isolates
 * files) and kept in memory; nothing is written to disk.
 */
export function testCerts(): TestCerts {
  cached ??= generateTestCerts();
  return cached;
}
