/**
 * Errors of the TCP/TLS connector. A failed connect keeps Node's own `code`
 * (`ECONNREFUSED`, `CERT_HAS_EXPIRED`, ...) so that callers can branch on it as they would
 * with `net`/`tls`, while the message names the (redacted) address and says what to do.
 */

const UNTRUSTED = "The server's certificate is not signed by a CA this client trusts: pass the CA that signed it in tls.ca.";
const HANDSHAKE_REFUSED = 'The server refused the handshake: check tls.ciphers, the TLS versions, and the client certificate.';

/** What to do about a connect error, by Node's code. */
const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Nothing accepts connections there: check the host and port, and that the server is running.',
  ENOTFOUND: 'The host name does not resolve: check its spelling and the DNS configuration.',
  EAI_AGAIN: 'The DNS lookup failed for now: check the DNS configuration, or retry.',
  ETIMEDOUT: 'The host did not answer: check that it is reachable (firewall, routing), or raise connectTimeout.',
  EHOSTUNREACH: 'There is no route to the host: check the network and the address.',
  ENETUNREACH: 'The network is unreachable: check the network and the address family.',
  ECONNRESET:
    'The peer reset the connection while it was being set up: check that the port is right and, for https:/tls:, that the server speaks TLS there.',
  EPIPE: 'The peer closed the connection while it was being set up: check that the port and protocol are right.',
  EADDRNOTAVAIL: 'The localAddress is not an address of this host: pass one of its own addresses, or none.',
  EADDRINUSE: 'The localAddress and port are already in use: pass another localAddress, or none.',
  ENOENT: 'The socketPath does not exist: check that the server is running and listening there.',
  EACCES: 'Permission denied: check the permissions of the socketPath or localAddress.',
  CERT_HAS_EXPIRED: "The server's certificate has expired: renew it on the server.",
  CERT_NOT_YET_VALID: "The server's certificate is not valid yet: check the server's certificate and both clocks.",
  ERR_TLS_CERT_ALTNAME_INVALID:
    "The server's certificate does not name this host: connect with a host name the certificate lists, or set tls.servername to one.",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED,
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED,
  CERT_SIGNATURE_FAILURE: UNTRUSTED,
  CERT_REVOKED: "The server's certificate is revoked: the server must use another certificate.",
  ERR_SSL_WRONG_VERSION_NUMBER: 'The TLS handshake failed: check that the server speaks TLS on this port (or use http:/tcp:).',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'The TLS handshake failed: check that the server speaks TLS on this port (or use http:/tcp:).',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'No TLS version is acceptable to both sides: check tls.minVersion / tls.maxVersion.',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'No TLS version is acceptable to both sides: check tls.minVersion / tls.maxVersion.',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: HANDSHAKE_REFUSED,
  // The same alert as OpenSSL 3.2 and later name it ("ssl/tls alert"; Node 24 ships OpenSSL 3.5).
  'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE': HANDSHAKE_REFUSED,
  ERR_SSL_NO_CIPHERS_AVAILABLE: 'No cipher is usable: check tls.ciphers and the TLS versions.',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'The server requires a client certificate: pass tls.cert and tls.key (or tls.pfx).',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'The server does not trust the client certificate: use one signed by a CA the server trusts.',
  ERR_OSSL_BAD_DECRYPT: 'The private key could not be decrypted: check tls.passphrase.',
  ERR_OSSL_EVP_BAD_DECRYPT: 'The private key could not be decrypted: check tls.passphrase.',
  ERR_OSSL_UNSUPPORTED: 'A TLS key or certificate could not be decoded: check that tls.key, tls.cert and tls.pfx are PEM (or DER/PKCS#12) and tls.passphrase is right.',
  ERR_OSSL_PEM_NO_START_LINE: 'A TLS certificate or key is not valid PEM: check tls.ca, tls.cert and tls.key.',
  ERR_OSSL_X509_KEY_VALUES_MISMATCH: 'tls.key does not match tls.cert: pass the key of that certificate.',
  ERR_HTTP2_NOT_NEGOTIATED: 'Only HTTP/2 was offered: check that the server speaks HTTP/2 over TLS, or allow HTTP/1.1 too (ALPNProtocols ["h2", "http/1.1"]).',
  ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
    'The server speaks none of the protocols offered by ALPN: offer one it speaks (e.g. allow HTTP/1.1 as well as HTTP/2).',
};

/** The code of `error`, or of the first inner error of an `AggregateError` (Happy Eyeballs). */
function codeOf(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      if (inner instanceof Error) {
        const innerCode = codeOf(inner);
        if (innerCode !== undefined) return innerCode;
      }
    }
  }
  return undefined;
}

/**
 * A connect to an address failed. `code` is Node's (`ECONNREFUSED`, `ENOTFOUND`,
 * `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`, ...), or `ERR_CONNECT_FAILED` when
 * Node gave none; `cause` is Node's error itself.
 *
 * @example
 * ```ts
 * try {
 *   await pool.acquire('https://127.0.0.1:8443');
 * } catch (error) {
 *   if (error instanceof ConnectError && error.code === 'ECONNREFUSED') { ... }
 * }
 * ```
 */
export class ConnectError extends Error {
  /** Node's code for what went wrong, kept as Node gave it. */
  readonly code: string;
  /** The system call that failed (`connect`, `getaddrinfo`, ...), when Node said. */
  readonly syscall?: string;
  /** Node's errno, when it gave one. */
  readonly errno?: number;
  /** The address that could not be reached, redacted (never a secret). */
  readonly target: string;

  constructor(target: string, cause: Error) {
    const code = codeOf(cause) ?? 'ERR_CONNECT_FAILED';
    const hint = HINTS[code];
    super(`Could not connect to ${target}: ${cause.message}${hint ? `. ${hint}` : ''}`, { cause });
    this.name = 'ConnectError';
    this.code = code;
    this.target = target;
    const { syscall, errno } = cause as { syscall?: unknown; errno?: unknown };
    if (typeof syscall === 'string') this.syscall = syscall;
    if (typeof errno === 'number') this.errno = errno;
  }
}

/** The stable code of a {@link ProxyTunnelError}. */
export type ProxyTunnelErrorCode = 'ERR_PROXY_TUNNEL' | 'ERR_PROXY_UNSUPPORTED';

/**
 * The proxy would not open a tunnel (it answered CONNECT with something other than 2xx,
 * or closed), or the proxy cannot be used at all (`ERR_PROXY_UNSUPPORTED`: a scheme other
 * than `http:`/`https:`, or a proxy combined with `socketPath`).
 */
export class ProxyTunnelError extends Error {
  /** `ERR_PROXY_TUNNEL` (the proxy would not tunnel) or `ERR_PROXY_UNSUPPORTED` (it cannot be used). */
  readonly code: ProxyTunnelErrorCode;
  /** The proxy's status code, when it answered. */
  readonly statusCode?: number;
  /** The address the tunnel was for, redacted (names the proxy, never its credentials). */
  readonly target: string;

  constructor(code: ProxyTunnelErrorCode, target: string, detail: string, statusCode?: number) {
    super(`Could not connect to ${target}: ${detail}`);
    this.name = 'ProxyTunnelError';
    this.code = code;
    this.target = target;
    if (statusCode !== undefined) this.statusCode = statusCode;
  }
}
