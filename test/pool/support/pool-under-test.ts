import { ConnectionPool, type ConnectionPoolOptions, type PoolEvent } from '../../../src/pool/index.js';
import { FakeConnector } from './fake-connector.js';
import { VirtualClock } from './virtual-time.js';

/** A pool on a fake connector and a virtual clock, with every event recorded. */
export function poolUnderTest(options: Omit<ConnectionPoolOptions, 'connector' | 'scheduler'> = {}, start = 0) {
  const clock = new VirtualClock(start);
  const connector = new FakeConnector();
  const pool = new ConnectionPool({ ...options, connector, scheduler: clock.scheduler });
  const events: PoolEvent[] = [];
  pool.events$.subscribe((event) => events.push(event));
  const types = (): string[] => events.map((event) => event.type);
  return { pool, clock, connector, events, types };
}
