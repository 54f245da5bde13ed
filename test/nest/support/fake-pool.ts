import { Subject } from 'rxjs';
import type { ConnectionPool, PoolEvent } from '../../../src/pool/index.js';

/** Just what the activity and the registry read of a pool: its events, its clock and its totals. */
export function fakePool(): { pool: ConnectionPool; events: Subject<PoolEvent> } {
  const events = new Subject<PoolEvent>();
  const pool = {
    events$: events,
    options: { scheduler: { now: () => 0 } },
    stats: () => ({ totals: { acquireTimeouts: 0 } }),
  } as unknown as ConnectionPool;
  return { pool, events };
}
