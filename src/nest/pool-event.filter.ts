import { InvalidOptionError, POOL_EVENT_TYPES, type PoolEvent } from '../pool/index.js';

// The engine's list, also this entry point's (the event stream's filter names them).
export { POOL_EVENT_TYPES };

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
      if (!(POOL_EVENT_TYPES as readonly string[]).includes(type)) {
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
