/** Request headers in any of the shapes undici accepts. */
export type DispatchHeaders =
  | Record<string, string | string[] | number | undefined | null>
  | ReadonlyArray<string | string[] | Buffer>
  | Iterable<readonly [string, string | string[] | undefined]>
  | null
  | undefined;

/**
 * Calls `visit` with each header of `headers` (a flat `[name, value, ...]` array, an
 * iterable of `[name, value]` pairs, or a record), as undici reads them. Values that are
 * undefined are skipped; arrays are given as they are.
 */
export function forEachHeader(headers: DispatchHeaders, visit: (name: string, value: unknown) => void): void {
  if (headers === null || headers === undefined) return;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const value: unknown = headers[i + 1];
      if (value !== undefined) visit(String(headers[i]), value);
    }
    return;
  }
  if (typeof headers !== 'object') return;
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<unknown>) {
      if (Array.isArray(pair) && pair.length === 2 && pair[1] !== undefined) visit(String(pair[0]), pair[1]);
    }
    return;
  }
  const record = headers as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (value !== undefined) visit(name, value);
  }
}

/** Whether `headers` has a header called `lowerName` (compared case-insensitively). */
export function hasHeader(headers: DispatchHeaders, lowerName: string): boolean {
  let found = false;
  forEachHeader(headers, (name) => {
    if (!found && name.length === lowerName.length && name.toLowerCase() === lowerName) found = true;
  });
  return found;
}
