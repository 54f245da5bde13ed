import { InvalidOptionError, type PoolEvent, type PoolEventType } from '../pool/index.js';

/**
 * Every event type, as a record so that the compiler flags a type the engine adds and this
 * list lacks (a filter must be able to name it).
 */
const EVENT_TYPES: Record<PoolEventType, true> = {
  'connect-start': true,
  'connect-end': true,
  'connect-failed': true,
  'connection-acquired': true,
  'connection-released': true,
  'no-new-exchanges': true,
  'connection-closed': true,
  'connection-leaked': true,
  'lease-held-too-long': true,
  'acquire-timeout': true,
  retry: true,
  'cleanup-failed': true,
  'pool-closing': true,
  'pool-closed': true,
};

/** Every type of event `pool.events$` emits. */
export const POOL_EVENT_TYPES: readonly PoolEventType[] = Object.keys(EVENT_TYPES) as PoolEventType[];

/** Which events a client wants: null means "all". */
export interface PoolEventFilter {
  readonly types: ReadonlySet<string> | null;
  /** Redacted addresses; events that concern no address (pool-closed, ...) do not match. */
  readonly addresses: ReadonlySet<string> | null;
}

/** A filter as it comes in a query string: comma-separated, or the parameter repeated. */
export interface PoolEventFilterQuery {
  readonly type?: string | readonly string[];
  readonly address?: string | readonly string[];
}

/**
 * Reads a filter from query parameters (`?type=connect-start,connection-closed&address=...`).
 *
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`, option `type`) for an unknown event
 * type, listing the known ones; (option `address`) for a value that is not a string.
 */
export function parsePoolEventFilter(query: PoolEventFilterQuery = {}): PoolEventFilter {
  const types = listOf('type', query.type);
  if (types !== null) {
    for (const type of types) {
      if (!Object.hasOwn(EVENT_TYPES, type)) {
        throw new InvalidOptionError('type', type, `event types among ${POOL_EVENT_TYPES.join(', ')} (comma-separated)`);
      }
    }
  }
  return { types, addresses: listOf('address', query.address) };
}

/** Whether `event` passes `filter`. */
export function matchesPoolEventFilter(filter: PoolEventFilter, event: PoolEvent): boolean {
  if (filter.types !== null && !filter.types.has(event.type)) return false;
  if (filter.addresses !== null) {
    const address = 'address' in event ? event.address : undefined;
    if (address === undefined || !filter.addresses.has(address)) return false;
  }
  return true;
}

function listOf(option: string, value: unknown): Set<string> | null {
  if (value === undefined || value === '') return null;
  const parts = Array.isArray(value) ? value : [value];
  const items = new Set<string>();
  for (const part of parts) {
    if (typeof part !== 'string') throw new InvalidOptionError(option, part, 'a string (comma-separated values)');
    for (const item of part.split(',')) if (item.trim() !== '') items.add(item.trim());
  }
  return items.size === 0 ? null : items;
}
