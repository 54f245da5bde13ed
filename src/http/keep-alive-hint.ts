/**
 * Reads a server's `Keep-Alive: timeout=N` response header (RFC 9112 appendix C.2.2, as
 * servers send it: `timeout=5, max=1000`) and returns N in milliseconds, or undefined when
 * there is no usable hint.
 */
export function parseKeepAliveTimeout(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  const match = /(?:^|[\s,;])timeout\s*=\s*"?(\d+)"?/i.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]);
  return Number.isSafeInteger(seconds) ? seconds * 1_000 : undefined;
}
