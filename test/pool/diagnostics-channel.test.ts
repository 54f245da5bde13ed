import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AddressResolver, DIAGNOSTICS_CHANNEL_PREFIX, type PoolEvent, type PoolEventType } from '../../src/pool/index.js';
import { PoolEventEmitter } from '../../src/pool/pool-event-emitter.js';
import { poolUnderTest } from './support/pool-under-test.js';
import { ConnectionPool } from '../../src/pool/index.js';
import { FakeConnector } from './support/fake-connector.js';
import { VirtualClock } from './support/virtual-time.js';

const ALL_TYPES: PoolEventType[] = [
  'connect-start',
  'connect-end',
  'connect-failed',
  'connection-acquired',
  'connection-released',
  'no-new-exchanges',
  'connection-closed',
  'connection-leaked',
  'lease-held-too-long',
  'acquire-timeout',
  'retry',
  'cleanup-failed',
  'pool-closing',
  'pool-closed',
];

const subscriptions: Array<() => void> = [];
afterEach(() => {
  while (subscriptions.length) subscriptions.pop()?.();
  vi.restoreAllMocks();
});

/** Subscribes to the channels of `types`; what they publish, in order. */
function listen(types: readonly PoolEventType[]): Array<{ channel: string; message: PoolEvent }> {
  const received: Array<{ channel: string; message: PoolEvent }> = [];
  for (const type of types) {
    const name = DIAGNOSTICS_CHANNEL_PREFIX + type;
    const onMessage = (message: unknown, channel: string | symbol): void => {
      received.push({ channel: String(channel), message: message as PoolEvent });
    };
    subscribe(name, onMessage);
    subscriptions.push(() => unsubscribe(name, onMessage));
  }
  return received;
}

/** A pool on a fake connector: a first use, a reuse, an eviction, a failed connect, a close. */
async function workload(): Promise<ConnectionPool> {
  const clock = new VirtualClock();
  const connector = new FakeConnector();
  const pool = new ConnectionPool({ connector, scheduler: clock.scheduler, keepAlive: '1s' });
  return run(pool, connector, clock);
}

async function run(pool: ConnectionPool, connector: FakeConnector, clock: VirtualClock): Promise<ConnectionPool> {
  (await pool.acquire('http://a.test')).release();
  (await pool.acquire('http://a.test')).release();
  clock.advanceBy(1_000);
  connector.failNext(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
  await expect(pool.acquire('http://b.test')).rejects.toThrow('refused');
  await pool.close();
  return pool;
}

const EXPECTED = [
  'connect-start',
  'connect-end',
  'connection-acquired',
  'connection-released',
  'connection-acquired',
  'connection-released',
  'connection-closed',
  'connect-start',
  'connect-failed',
  'pool-closing',
  'pool-closed',
];

describe('diagnostics_channel: reactive-connection-pool:<event type>', () => {
  it('publishes every event, in order, on the channel of its type', async () => {
    const received = listen(ALL_TYPES);
    await workload();
    expect(received.map((r) => r.message.type)).toEqual(EXPECTED);
    for (const { channel, message } of received) expect(channel).toBe(`reactive-connection-pool:${message.type}`);
    expect(received[6]?.message).toMatchObject({ type: 'connection-closed', address: 'http://a.test:80', reason: 'keep-alive-expired' });
  });

  it('publishes the very event object events$ gives', async () => {
    const received = listen(ALL_TYPES);
    const { pool, clock, connector } = poolUnderTest({ keepAlive: '1s' });
    const events: PoolEvent[] = [];
    pool.events$.subscribe((event) => events.push(event));
    await run(pool, connector, clock);
    expect(received.map((r) => r.message)).toHaveLength(EXPECTED.length);
    received.forEach(({ message }, i) => expect(message).toBe(events[i]));
  });

  it('with no subscriber (channel or events$), builds no event at all', async () => {
    const emit = vi.spyOn(PoolEventEmitter.prototype, 'emit');
    // Every event names its (redacted) address: building one formats it.
    const addressPrototype = Object.getPrototypeOf(new AddressResolver().resolve('http://a.test')) as { toString(): string };
    const formatted = vi.spyOn(addressPrototype, 'toString');
    await workload();
    expect(emit).not.toHaveBeenCalled();
    expect(formatted).not.toHaveBeenCalled();
  });

  it('builds only the events whose channel has a subscriber, and none again once it unsubscribes', async () => {
    const emit = vi.spyOn(PoolEventEmitter.prototype, 'emit');
    const received = listen(['connection-closed', 'connect-failed']);
    await workload();
    expect(received.map((r) => r.message.type)).toEqual(['connection-closed', 'connect-failed']);
    expect(emit.mock.calls.map(([event]) => event.type)).toEqual(['connection-closed', 'connect-failed']);

    while (subscriptions.length) subscriptions.pop()?.();
    emit.mockClear();
    await workload();
    expect(emit).not.toHaveBeenCalled();
    expect(received).toHaveLength(2);
  });

  it('publishes the events of every pool of the process, each on its own channel', async () => {
    const received = listen(['connect-start']);
    const a = await workload();
    const b = await workload();
    expect(a).not.toBe(b);
    expect(received).toHaveLength(4);
  });
});
