import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import type { PoolEvent } from '../../src/pool/index.js';
import {
  ConnectionPoolEventsModule,
  ConnectionPoolMetricsModule,
  ConnectionPoolModule,
  ConnectionPoolRegistry,
  InjectConnectionPool,
} from '../../src/nest/index.js';
import { LoopbackServer } from './support/loopback-server.js';
import { createApp } from './support/nest-app.js';
import { SseClient } from './support/sse-client.js';
import { echo, socketOf, tcpConnector } from './support/tcp-connector.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { waitFor } from '../support/wait-for.js';

/** Lets a test hold a request in flight, and know when it got there. */
class Gate {
  entered = false;
  #open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));
  open(): void {
    this.#open();
  }
}
let gate: Gate;

@Injectable()
class SlowWork {
  constructor(@InjectConnectionPool() private readonly pool: ConnectionPool) {}

  /** Holds a lease across a pause the test controls, then uses it. */
  async run(url: string): Promise<string> {
    const lease = await this.pool.acquire(url);
    try {
      gate.entered = true;
      await gate.opened;
      return await echo(lease, 'done');
    } finally {
      lease.release();
    }
  }
}

let upstream: LoopbackServer;

@Controller('work')
class WorkController {
  constructor(private readonly work: SlowWork) {}

  @Get()
  run(): Promise<string> {
    return this.work.run(upstream.url);
  }
}

beforeEach(async () => {
  upstream = await new LoopbackServer().start();
  gate = new Gate();
});
afterEach(async () => {
  await upstream.stop();
});

/**
 * Records every timer made with the global setTimeout / setInterval while it is installed:
 * `process.getActiveResourcesInfo()` does not list unref'd timers, and the pool's are.
 */
function recordTimers(): { pending: () => number; restore: () => void } {
  const made: Array<{ _destroyed?: boolean }> = [];
  const { setTimeout: originalTimeout, setInterval: originalInterval } = globalThis;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    const timer = originalTimeout(...args);
    made.push(timer as unknown as { _destroyed?: boolean });
    return timer;
  }) as typeof setTimeout;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const timer = originalInterval(...args);
    made.push(timer as unknown as { _destroyed?: boolean });
    return timer;
  }) as typeof setInterval;
  return {
    pending: () => made.filter((timer) => timer._destroyed !== true).length,
    restore: () => {
      globalThis.setTimeout = originalTimeout;
      globalThis.setInterval = originalInterval;
    },
  };
}

/** Counts of the handle types that a server and its sockets make. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const type of process.getActiveResourcesInfo()) if (type in counts) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('shutdown', () => {
  it('app.close() lets the request in flight finish, then drains and closes the pool, and leaves no handle of ours', async () => {
    const before = handles();
    const timers = recordTimers();
    const app = await createApp({
      imports: [
        ConnectionPoolModule.forRoot({ connector: tcpConnector }),
        ConnectionPoolMetricsModule.forRoot({ registry: new Registry() }),
        ConnectionPoolEventsModule.forRoot({ heartbeat: '1s' }),
      ],
      controllers: [WorkController],
      providers: [SlowWork],
    });
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
    const pool = app.get(ConnectionPool);
    const registry = app.get(ConnectionPoolRegistry);
    const events: PoolEvent[] = [];
    let completed = false;
    pool.events$.subscribe({ next: (event) => events.push(event), complete: () => (completed = true) });
    const stream = await SseClient.connect(`${base}/connection-pool/events`);
    await stream.until((c) => c.events.length > 0, 'the event stream to open');
    (await pool.acquire(upstream.url)).release(); // an idle connection: the cleanup loop has a timer
    // A cleanup tick is scheduled. (Not on the timers recorded here: the pool's default
    // scheduler, which also runs the stream's heartbeat, keeps the timer functions of load
    // time, so that test doubles installed later cannot stall it.)
    expect(pool.stats().cleanup.nextTickAt).not.toBeNull();

    const response = fetchText(`${base}/work`);
    await waitFor(() => gate.entered, 'the request to hold its lease');
    expect(handles().TCPSocketWrap).toBeGreaterThan(before.TCPSocketWrap ?? 0);
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await stream.until((c) => c.ended, 'the event stream to be ended by the shutdown');
    expect(closed).toBe(false);
    expect(pool.stats()).toMatchObject({ state: 'open', leases: 1 });

    gate.open();
    expect(await response).toEqual({ status: 200, body: 'done' });
    await closing;
    expect(pool.stats()).toMatchObject({ state: 'closed', connections: 0, leases: 0 });
    expect(pool.stats().cleanup.nextTickAt).toBeNull();
    expect(events.slice(-4).map((e) => e.type)).toEqual(['connection-released', 'pool-closing', 'connection-closed', 'pool-closed']);
    expect(events.at(-2)).toMatchObject({ reason: 'pool-closed' });
    expect(completed).toBe(true);
    expect(registry.list()).toEqual([]);
    await waitFor(() => {
      const after = handles();
      return Object.entries(before).every(([type, count]) => (after[type] ?? 0) <= count);
    }, `no more handles than before the application (before: ${JSON.stringify(before)})`);
    expect(upstream.openConnections).toBe(0);
    try {
      await waitFor(() => timers.pending() === 0, 'every timer made while the application ran to be cleared');
    } finally {
      timers.restore();
    }
  });

  it('closes leases still held when the drain timeout passes (on the pool scheduler)', async () => {
    const clock = new VirtualClock();
    const moduleRef = await Test.createTestingModule({
      imports: [ConnectionPoolModule.forRoot({ connector: tcpConnector, scheduler: clock.scheduler, drainTimeout: '5s' })],
    }).compile();
    await moduleRef.init();
    const pool = moduleRef.get(ConnectionPool);
    const held = await pool.acquire(upstream.url); // a background job that never finishes
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));

    let closed = false;
    const closing = moduleRef.close().then(() => (closed = true));
    await waitFor(() => pool.stats().state === 'closing', 'the pool to start closing');
    clock.advanceBy(4_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(socketOf(held).destroyed).toBe(false);

    clock.advanceBy(1);
    await closing;
    expect(socketOf(held).destroyed).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'pool-closed', forced: 1 });
    expect(clock.pendingActions).toBe(0);
    held.release(); // a late release is harmless
  });
});
