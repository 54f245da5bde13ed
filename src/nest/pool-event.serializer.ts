import type { PoolEvent } from '../pool/index.js';

/** What an `Error` in an event becomes on the wire: no stack, no cause, no other fields. */
export interface SafeError {
  readonly name: string;
  readonly message: string;
  /** The error's `code` (`ECONNREFUSED`, `ERR_CONNECT_TIMEOUT`, ...), if it has one. */
  readonly code?: string;
}

/** A {@link PoolEvent} made safe for JSON: errors as {@link SafeError}, text redacted. */
export type SerializedPoolEvent = { readonly type: string; readonly at: number } & Readonly<
  Record<string, string | number | boolean | null | SafeError>
>;

/** Longer messages are cut: an event is a notice, not a dump, and a client's buffer is bounded. */
const MAX_TEXT_LENGTH = 2_000;

/**
 * Strips what may be a secret from free text: the user-info of URLs (`//user:pass@host`).
 * Addresses in events are already redacted by the pool; this guards messages written by
 * connectors and other code the pool does not control.
 */
export function redactText(text: string): string {
  const redacted = text.replace(/\/\/[^/\s@]*@/g, '//***@');
  return redacted.length > MAX_TEXT_LENGTH ? `${redacted.slice(0, MAX_TEXT_LENGTH)}…` : redacted;
}

/**
 * An error reduced to `{ name, message, code }`, message redacted. Its stack, `cause` and
 * other fields are left out: they may hold request data, credentials or paths.
 */
export function toSafeError(error: unknown): SafeError {
  if (!(error instanceof Error)) return { name: 'Error', message: redactText(String(error)) };
  const code = (error as { code?: unknown }).code;
  const safe = { name: error.name, message: redactText(error.message) };
  return typeof code === 'string' || typeof code === 'number' ? { ...safe, code: String(code) } : safe;
}

/**
 * A pool event as JSON-safe data: `Error` values become {@link SafeError}, strings are
 * redacted, numbers, booleans and null are kept, and any other value (an object a future
 * event type might carry) is left out rather than risk serialising something private.
 *
 * @example
 * ```ts
 * pool.events$.subscribe((event) => logger.log(JSON.stringify(serializePoolEvent(event))));
 * ```
 */
export function serializePoolEvent(event: PoolEvent): SerializedPoolEvent {
  const out: Record<string, string | number | boolean | null | SafeError> = {};
  for (const [key, value] of Object.entries(event)) {
    if (value instanceof Error) out[key] = toSafeError(value);
    else if (typeof value === 'string') out[key] = redactText(value);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) out[key] = value;
  }
  return out as SerializedPoolEvent;
}
