/**
 * Where the proxy forwards to: an origin, an optional base path, and what TLS trust it needs.
 * Made from `UPSTREAM_URL` (and `UPSTREAM_CA_FILE`), or by the embedded upstream.
 */
export class UpstreamTarget {
  /** `http:` or `https:`. */
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** The base path without a trailing slash (`''` for none). */
  readonly basePath: string;
  /** PEM CA certificate(s) to trust instead of Node's, for `https:`. */
  readonly ca: string | undefined;
  /** Whether it is the embedded upstream of this process (for the banner and the dashboard). */
  readonly embedded: boolean;

  constructor(url: URL, options: { ca?: string; embedded?: boolean } = {}) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`An upstream is http: or https:, not ${url.protocol}`);
    this.protocol = url.protocol;
    // URL keeps IPv6 literals in brackets; node:http wants them bare.
    this.hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.ca = options.ca;
    this.embedded = options.embedded ?? false;
  }

  /** `http://host:port` (URL form, IPv6 in brackets). */
  get origin(): string {
    const host = this.hostname.includes(':') ? `[${this.hostname}]` : this.hostname;
    return `${this.protocol}//${host}:${this.port}`;
  }

  /** The origin and base path, as shown to operators. */
  toString(): string {
    return `${this.origin}${this.basePath}`;
  }

  /** The upstream's path for a proxied `path` (which starts with `/` and may carry a query). */
  pathFor(path: string): string {
    return `${this.basePath}${path}`;
  }
}
