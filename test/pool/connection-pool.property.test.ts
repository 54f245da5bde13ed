import fc from 'fast-check';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectionPool,
  ConnectionPoolError,
  type Address,
  type ConnectContext,
  type ConnectionInfo,
  type Connector,
  type Lease,
  type PoolEvent,
  type Transport,
} from '../../src/pool/index.js';

/**
 * Property tests of the pool: random sequences of acquires, releases, evictions, peer
 * closes, failing and hanging connects, aborts and time passing, on random options, in
 * virtual time. After every step the pool's public views must agree with each other and
 * with what the test holds, the limits must hold, no transport may be closed twice (or
 * left open once its connection is gone), and no acquire may hang forever.
 */

// ---- fakes -------------------------------------------------------------------------------

const ADDRESSES = ['http://a.test', 'http://b.test', 'https://c.test'] as const;

/** What the connector does with one connect, in the order of the plan (cycled). */
type Outcome = 'ok' | 'ok-multiplexed' | 'fail' | 'throw' | 'bad-result' | 'hang' | 'hang-deaf';

interface PlannedConnect {
  outcome: Outcome;
  /** The transport's `idleTimeout` (a peer allowing less than keepAlive), if any. */
  idleTimeout?: number | undefined;
  /** Its close() throws (after counting the call). */
  closeThrows?: boolean;
}

class ConnectRefusedError extends Error {
  constructor(host: string) {
    super(`connect ECONNREFUSED ${host} (fake)`);
    this.name = 'ConnectRefusedError';
  }
}

class FakeTransport implements Transport {
  closeCalls = 0;
  /** What isHealthy() does: `'throws'` makes it throw. */
  healthy: boolean | 'throws' = true;
  closeThrows = false;
  /** The connection it became, learnt from the lease that first carried it. */
  connectionId: string | null = null;
  readonly listeners = new Set<() => void>();

  constructor(
    readonly serial: number,
    readonly host: string,
    readonly allocationLimit: number,
    readonly idleTimeout: number | undefined,
    /** The signal of the connect that made it. */
    readonly signal: AbortSignal,
  ) {}

  close(): void {
    this.closeCalls++;
    if (this.closeThrows) throw new Error(`close() of transport #${this.serial} failed (fake)`);
  }

  isHealthy(): boolean {
    if (this.healthy === 'throws') throw new Error(`isHealthy() of transport #${this.serial} failed (fake)`);
    return this.healthy;
  }

  on(_event: 'close', listener: () => void): void {
    this.listeners.add(listener);
  }

  off(_event: 'close', listener: () => void): void {
    this.listeners.delete(listener);
  }

  /** The peer hangs up. */
  peerClose(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

interface ManualConnect {
  readonly host: string;
  readonly planned: PlannedConnect;
  readonly signal: AbortSignal;
  /** A deaf connect ignores its signal and may deliver a transport after the pool gave up. */
  readonly deaf: boolean;
  done: boolean;
  resolve(transport: Transport): void;
  reject(error: Error): void;
}

class PlannedConnector implements Connector {
  calls = 0;
  readonly transports: FakeTransport[] = [];
  readonly manual: ManualConnect[] = [];

  constructor(readonly plan: readonly PlannedConnect[]) {}

  connect(address: Address, { signal }: ConnectContext): Promise<Transport> {
    const planned = this.plan[this.calls % this.plan.length] ?? { outcome: 'ok' };
    const { outcome } = planned;
    this.calls++;
    switch (outcome) {
      case 'ok':
        return Promise.resolve(this.#make(address.host, 1, planned, signal));
      case 'ok-multiplexed':
        return Promise.resolve(this.#make(address.host, 2, planned, signal));
      case 'fail':
        return Promise.reject(new ConnectRefusedError(address.host));
      case 'throw':
        throw new ConnectRefusedError(address.host);
      case 'bad-result':
        return Promise.resolve(null as unknown as Transport);
      case 'hang':
      case 'hang-deaf':
        return new Promise<Transport>((resolve, reject) => {
          const pending: ManualConnect = {
            host: address.host,
            planned,
            signal,
            deaf: outcome === 'hang-deaf',
            done: false,
            resolve,
            reject,
          };
          this.manual.push(pending);
          if (!pending.deaf) {
            signal.addEventListener(
              'abort',
              () => {
                if (pending.done) return;
                pending.done = true;
                reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
              },
              { once: true },
            );
          }
        });
    }
  }

  complete(pending: ManualConnect, ok: boolean): void {
    pending.done = true;
    if (ok) pending.resolve(this.#make(pending.host, 1, pending.planned, pending.signal));
    else pending.reject(new ConnectRefusedError(pending.host));
  }

  #make(host: string, allocationLimit: number, planned: PlannedConnect, signal: AbortSignal): FakeTransport {
    const transport = new FakeTransport(this.transports.length + 1, host, allocationLimit, planned.idleTimeout, signal);
    transport.closeThrows = planned.closeThrows === true;
    this.transports.push(transport);
    return transport;
  }
}

/** Lets every pending promise callback run (the fakes use no timers, so one macrotask turn is enough). */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Virtual time: runs due actions one at a time, letting promise callbacks run between them. */
class Clock {
  readonly scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);

  get now(): number {
    return this.scheduler.now();
  }

  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (let next = this.scheduler.actions[0]; next !== undefined && next.delay <= target; next = this.scheduler.actions[0]) {
      this.scheduler.maxFrames = next.delay;
      try {
        this.scheduler.flush();
      } finally {
        this.scheduler.maxFrames = Infinity;
      }
      await turn();
    }
    this.scheduler.frame = target;
    await turn();
  }
}

// ---- scenarios -----------------------------------------------------------------------------

interface ScenarioOptions {
  maxIdleConnections: number;
  keepAlive: number;
  maxConnectionsPerAddress: number;
  maxConnections: number;
  acquireTimeout: number;
  connectTimeout: number;
  drainTimeout: number;
}

/** An acquire without a signal, with one the test may abort later, or with one aborted already. */
type SignalMode = 'none' | 'later' | 'aborted';

/** What a burst does back to back, with no promise callback in between. */
type BurstAction =
  | { kind: 'acquire'; address: number; signal: SignalMode }
  | { kind: 'release'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'evict'; pick: number }
  | { kind: 'peer-close'; pick: number }
  | { kind: 'complete-connect'; pick: number; ok: boolean }
  | { kind: 'close' };

type Op =
  | { kind: 'acquire'; address: number; signal: SignalMode }
  | { kind: 'burst'; actions: BurstAction[] }
  | { kind: 'release'; pick: number }
  | { kind: 'release-again'; pick: number }
  | { kind: 'no-new-exchanges'; pick: number }
  | { kind: 'evict'; pick: number }
  | { kind: 'evict-all' }
  | { kind: 'advance'; ms: number }
  | { kind: 'peer-close'; pick: number }
  | { kind: 'unhealthy'; pick: number; throws: boolean }
  | { kind: 'abort'; pick: number }
  | { kind: 'complete-connect'; pick: number; ok: boolean }
  | { kind: 'cleanup' }
  | { kind: 'settle' }
  | { kind: 'close' };

interface Scenario {
  options: ScenarioOptions;
  /** Outcomes of successive connects, cycled. */
  plan: PlannedConnect[];
  /** Subscribe to events$ (the pool skips building events nobody watches). */
  observe: boolean;
  /** Pass `inspect`, which makes every actor transition happen eagerly. */
  eager: boolean;
  ops: Op[];
}

const optionsArb: fc.Arbitrary<ScenarioOptions> = fc.record({
  maxIdleConnections: fc.integer({ min: 0, max: 4 }),
  keepAlive: fc.integer({ min: 10, max: 1_000 }),
  maxConnectionsPerAddress: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Infinity)),
  maxConnections: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(Infinity)),
  acquireTimeout: fc.integer({ min: 50, max: 500 }),
  connectTimeout: fc.integer({ min: 50, max: 500 }),
  drainTimeout: fc.integer({ min: 1, max: 500 }),
});

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Outcome>('ok') },
  { weight: 2, arbitrary: fc.constant<Outcome>('ok-multiplexed') },
  { weight: 2, arbitrary: fc.constant<Outcome>('fail') },
  { weight: 1, arbitrary: fc.constant<Outcome>('throw') },
  { weight: 1, arbitrary: fc.constant<Outcome>('bad-result') },
  { weight: 2, arbitrary: fc.constant<Outcome>('hang') },
  { weight: 1, arbitrary: fc.constant<Outcome>('hang-deaf') },
);

const pick = fc.nat({ max: 31 });
const signalArb: fc.Arbitrary<SignalMode> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<SignalMode>('none') },
  { weight: 3, arbitrary: fc.constant<SignalMode>('later') },
  { weight: 1, arbitrary: fc.constant<SignalMode>('aborted') },
);
// Mostly one address, so that connections of one address pile up (reuse order, per-address limits).
const addressArb = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) });
const acquireArb = fc.record({ kind: fc.constant('acquire' as const), address: addressArb, signal: signalArb });
const burstActionArb: fc.Arbitrary<BurstAction> = fc.oneof(
  { weight: 4, arbitrary: acquireArb },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('evict' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('peer-close' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete-connect' as const), pick, ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const) }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 20, arbitrary: acquireArb },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('burst' as const), actions: fc.array(burstActionArb, { minLength: 2, maxLength: 4 }) }) },
  { weight: 14, arbitrary: fc.record({ kind: fc.constant('release' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release-again' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('no-new-exchanges' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('evict' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('evict-all' as const) }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1_200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('peer-close' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('unhealthy' as const), pick, throws: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('complete-connect' as const), pick, ok: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cleanup' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const) }) },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  options: optionsArb,
  plan: fc.array(
    fc.record({
      outcome: outcomeArb,
      // Mostly none; else shorter or longer than keepAlive, or 0 and less (never pooled).
      idleTimeout: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.integer({ min: -1, max: 1_200 }) }),
      closeThrows: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  observe: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  eager: fc.boolean(),
  ops: fc.array(opArb, { maxLength: 40, size: 'max' }),
});

// ---- the run -------------------------------------------------------------------------------

/** What the runs got to exercise, summed over all of them (so that the property is not vacuous). */
const coverage = {
  reused: 0,
  queued: 0,
  acquireTimedOut: 0,
  abortedWhilePending: 0,
  connectFailed: 0,
  connectTimedOut: 0,
  lateTransports: 0,
  multiplexedShared: 0,
  closedWithLeases: 0,
  forcedOnClose: 0,
  'closed:peer-closed': 0,
  'closed:capacity': 0,
  'closed:idle-limit': 0,
  'closed:keep-alive-expired': 0,
  'closed:unhealthy': 0,
  'closed:evicted': 0,
  'closed:evict-all': 0,
  'closed:no-new-exchanges': 0,
};
type Covered = keyof typeof coverage;

interface AcquireRecord {
  readonly serial: number;
  readonly startedAt: number;
  readonly host: string;
  readonly controller: AbortController | null;
  status: 'pending' | 'resolved' | 'rejected';
  lease: Lease | null;
  connectionId: string | null;
  transport: FakeTransport | null;
  error: unknown;
  /** The test released its lease. */
  released: boolean;
}

const ACQUIRE_ERROR_CODES = new Set([
  'ERR_ACQUIRE_TIMEOUT',
  'ERR_ACQUIRE_ABORTED',
  'ERR_CONNECT_TIMEOUT',
  'ERR_CONNECTOR_RESULT',
  'ERR_POOL_CLOSED',
]);

function hostOf(info: ConnectionInfo): string {
  return new URL(info.address).hostname;
}

function pickFrom<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

class Run {
  readonly clock = new Clock();
  readonly connector: PlannedConnector;
  readonly pool: ConnectionPool;
  readonly acquires: AcquireRecord[] = [];
  /** Acquires in the order they resolved. */
  readonly resolvedInOrder: AcquireRecord[] = [];
  readonly events: PoolEvent[] = [];
  /** Problems seen inside the events$ subscriber (throwing there would hit the pool). */
  readonly eventProblems: string[] = [];
  eventsCompleted = false;
  closing: Promise<void> | null = null;
  closingSince = 0;
  closed = false;
  /** Why the test marked a connection noNewExchanges (evict() or the lease); the pool marks the rest 'unhealthy'. */
  readonly drainReasons = new Map<string, 'evicted' | 'no-new-exchanges'>();

  constructor(readonly scenario: Scenario) {
    this.connector = new PlannedConnector(scenario.plan);
    const { drainTimeout, ...options } = scenario.options;
    this.pool = new ConnectionPool({
      ...options,
      drainTimeout,
      connector: this.connector,
      scheduler: this.clock.scheduler,
      ...(scenario.eager ? { inspect: () => undefined } : {}),
    });
    if (scenario.observe) {
      this.pool.events$.subscribe({
        next: (event) => {
          if (event.at !== this.clock.now) this.eventProblems.push(`${event.type} at ${event.at}, but now is ${this.clock.now}`);
          this.events.push(event);
        },
        complete: () => {
          this.eventsCompleted = true;
        },
      });
    }
  }

  get options(): ScenarioOptions {
    return this.scenario.options;
  }

  /** How long `info` may stay idle: keepAlive, or less if its transport says so. */
  lifeOf(info: ConnectionInfo): number {
    const idleTimeout = this.transportOf(info.id)?.idleTimeout;
    return idleTimeout !== undefined && idleTimeout < this.options.keepAlive ? idleTimeout : this.options.keepAlive;
  }

  transportOf(connectionId: string): FakeTransport | undefined {
    return this.connector.transports.find((transport) => transport.connectionId === connectionId);
  }

  acquire(address: number, signal: SignalMode): AcquireRecord {
    const url = ADDRESSES[address % ADDRESSES.length] as string;
    const controller = signal === 'none' ? null : new AbortController();
    if (signal === 'aborted') controller?.abort(new Error('aborted before the acquire (fake)'));
    const promise = this.pool.acquire(url, controller ? { signal: controller.signal } : undefined);
    const record: AcquireRecord = {
      serial: this.acquires.length + 1,
      startedAt: this.clock.now,
      host: new URL(url).hostname,
      controller,
      status: 'pending',
      lease: null,
      connectionId: null,
      transport: null,
      error: undefined,
      released: false,
    };
    this.acquires.push(record);
    promise.then(
      (lease) => {
        this.resolvedInOrder.push(record);
        record.status = 'resolved';
        record.lease = lease;
        record.connectionId = lease.connection.id;
        const transport = lease.transport as FakeTransport;
        record.transport = transport;
        if (transport.connectionId === null) transport.connectionId = record.connectionId;
        else if (transport.connectionId !== record.connectionId) {
          this.eventProblems.push(`transport #${transport.serial} is ${transport.connectionId} and also ${record.connectionId}`);
        }
      },
      (error: unknown) => {
        record.status = 'rejected';
        record.error = error;
      },
    );
    return record;
  }

  /**
   * The step in which each idle connection last became idle (connections that did so in the
   * same step tie). A connection cannot go idle, in use and idle again within one step: the
   * test releases leases only in steps of their own, after the acquire's callbacks have run.
   */
  readonly #idleSince = new Map<string, number>();
  #steps = 0;

  idleOrder(info: ConnectionInfo): number {
    return this.#idleSince.get(info.id) ?? Infinity;
  }

  drainReasonOf(connectionId: string): string {
    return this.drainReasons.get(connectionId) ?? 'unhealthy';
  }

  /** Leases the test holds and has not released. */
  held(): AcquireRecord[] {
    return this.acquires.filter((record) => record.status === 'resolved' && !record.released);
  }

  /** Every connection id the pool has made, from the connect-start events or the leases. */
  knownIds(): string[] {
    const ids = new Set<string>();
    for (const event of this.events) if ('connectionId' in event) ids.add(event.connectionId);
    for (const record of this.acquires) if (record.connectionId !== null) ids.add(record.connectionId);
    return [...ids].sort();
  }

  // ---- one step ----------------------------------------------------------------------------

  async step(op: Op): Promise<void> {
    switch (op.kind) {
      case 'acquire':
        return this.#acquire(op.address, op.signal);
      case 'burst':
        for (const action of op.actions) this.#burstAction(action);
        return turn();
      case 'release':
        return this.#release(op.pick);
      case 'release-again':
        return this.#releaseAgain(op.pick);
      case 'no-new-exchanges':
        return this.#noNewExchanges(op.pick);
      case 'evict':
        return this.#evict(op.pick);
      case 'evict-all':
        return this.#evictAll();
      case 'advance':
        return this.clock.advance(op.ms);
      case 'peer-close':
        return this.#peerClose(op.pick);
      case 'unhealthy': {
        const transport = pickFrom(this.#pooledTransports(), op.pick);
        if (transport) transport.healthy = op.throws ? 'throws' : false;
        return;
      }
      case 'abort':
        return this.#abort(op.pick);
      case 'complete-connect': {
        const pending = pickFrom(
          this.connector.manual.filter((connect) => !connect.done),
          op.pick,
        );
        if (pending) this.connector.complete(pending, op.ok);
        return turn();
      }
      case 'cleanup':
        return this.#cleanup();
      case 'settle':
        return this.settleAcquires();
      case 'close':
        return this.#startClose();
    }
  }

  /** One action of a burst: no await, no expectation of its own (the invariants follow the burst). */
  #burstAction(action: BurstAction): void {
    switch (action.kind) {
      case 'acquire':
        this.acquire(action.address, action.signal);
        return;
      case 'release': {
        const record = pickFrom(this.held(), action.pick);
        if (record?.lease) {
          record.released = true;
          record.lease.release();
        }
        return;
      }
      case 'abort': {
        const record = pickFrom(
          this.acquires.filter((candidate) => candidate.controller !== null && !candidate.controller.signal.aborted),
          action.pick,
        );
        record?.controller?.abort(new Error('the caller gave up (fake)'));
        return;
      }
      case 'evict': {
        const id = pickFrom([...this.pool.connections().map((info) => info.id), 'c-unknown'], action.pick) as string;
        const info = this.pool.connections().find((candidate) => candidate.id === id);
        if (info !== undefined && info.state !== 'idle' && !info.noNewExchanges) this.drainReasons.set(id, 'evicted');
        this.pool.evict(id);
        return;
      }
      case 'peer-close':
        pickFrom(this.#pooledTransports(), action.pick)?.peerClose();
        return;
      case 'complete-connect': {
        const pending = pickFrom(
          this.connector.manual.filter((connect) => !connect.done),
          action.pick,
        );
        if (pending) this.connector.complete(pending, action.ok);
        return;
      }
      case 'close':
        if (this.closing === null) this.#beginClose();
        return;
    }
  }

  async #acquire(address: number, signal: SignalMode): Promise<void> {
    const host = new URL(ADDRESSES[address % ADDRESSES.length] as string).hostname;
    const before = this.pool.connections();
    const statsBefore = this.pool.stats();
    const callsBefore = this.connector.calls;
    const record = this.acquire(address, signal);
    const callsNow = this.connector.calls;
    await turn();

    if (this.closing !== null) {
      expect(record.status, 'an acquire after close() rejects').toBe('rejected');
      expect((record.error as ConnectionPoolError).code).toBe('ERR_POOL_CLOSED');
      return;
    }
    if (signal === 'aborted') {
      expect(record.status, 'an acquire with an aborted signal rejects').toBe('rejected');
      expect((record.error as ConnectionPoolError).code).toBe('ERR_ACQUIRE_ABORTED');
      expect(this.pool.connections()).toEqual(before);
      expect(callsNow).toBe(callsBefore);
      return;
    }
    if (statsBefore.waiters !== 0) return; // who is served first is for the waiter tests
    const mine = before.filter((info) => hostOf(info) === host);
    const healthy = (info: ConnectionInfo): boolean => this.transportOf(info.id)?.healthy === true;
    if (mine.some((info) => !healthy(info))) return; // unhealthy ones are closed on the way: not modelled here

    const idle = mine.filter((info) => info.state === 'idle');
    const spare = mine.filter(
      (info) => info.state === 'inUse' && !info.noNewExchanges && info.allocations < info.allocationLimit,
    );
    if (idle.length > 0) {
      // Reuse, LIFO: the connection that became idle last.
      const latest = Math.max(...idle.map((info) => this.idleOrder(info)));
      expect(record.status, 'an acquire with an idle connection at hand reuses it').toBe('resolved');
      expect(idle.filter((info) => this.idleOrder(info) === latest).map((info) => info.id)).toContain(record.connectionId);
      expect(callsNow).toBe(callsBefore);
      return;
    }
    if (spare.length > 0) {
      const least = Math.min(...spare.map((info) => info.allocations));
      expect(record.status, 'an acquire shares a multiplexed connection with room').toBe('resolved');
      expect(spare.filter((info) => info.allocations === least).map((info) => info.id)).toContain(record.connectionId);
      expect(callsNow).toBe(callsBefore);
      return;
    }
    const perAddress = mine.length < this.options.maxConnectionsPerAddress;
    const total = before.length < this.options.maxConnections;
    const roomElsewhere = mine.length === 0 && before.some((info) => info.state === 'idle');
    const opens = perAddress && (total || roomElsewhere);
    // A new connect starts at once, without waiting for anyone else's connect.
    expect(callsNow - callsBefore, opens ? 'the acquire opens a connection at once' : 'the acquire waits in line').toBe(
      opens ? 1 : 0,
    );
  }

  async #release(index: number): Promise<void> {
    const record = pickFrom(this.held(), index);
    if (record === undefined || record.lease === null) return;
    const before = this.pool.connections().find((info) => info.id === record.connectionId);
    const waitersBefore = this.pool.stats().waiters;
    record.released = true;
    record.lease.release();
    expect(record.lease.released).toBe(true);
    expect(() => record.lease?.transport).toThrow(expect.objectContaining({ code: 'ERR_LEASE_RELEASED' }));
    await turn();
    if (before === undefined || this.closing !== null || waitersBefore !== 0 || before.allocations !== 1) return;
    const after = this.pool.connections().find((info) => info.id === record.connectionId);
    const idleTimeout = record.transport?.idleTimeout;
    if (before.noNewExchanges || this.options.maxIdleConnections === 0 || (idleTimeout !== undefined && idleTimeout <= 0)) {
      expect(after, 'released with noNewExchanges, maxIdleConnections = 0 or idleTimeout <= 0: closed at once').toBeUndefined();
      if (this.scenario.observe) {
        const reason = before.noNewExchanges
          ? this.drainReasonOf(before.id)
          : this.options.maxIdleConnections === 0
            ? 'idle-limit'
            : 'keep-alive-expired';
        expect(this.events.at(-1)).toMatchObject({ type: 'connection-closed', connectionId: before.id, reason });
      }
    } else {
      expect(after, 'released with nobody waiting: idle').toMatchObject({ state: 'idle', allocations: 0, idleAt: this.clock.now });
    }
  }

  async #releaseAgain(index: number): Promise<void> {
    const record = pickFrom(
      this.acquires.filter((candidate) => candidate.released),
      index,
    );
    if (record === undefined || record.lease === null) return;
    const connections = this.pool.connections();
    const stats = this.pool.stats();
    const events = this.events.length;
    record.lease.release();
    record.lease.noNewExchanges();
    record.lease[Symbol.dispose]();
    await turn();
    expect(this.pool.connections(), 'releasing twice is a no-op').toEqual(connections);
    expect(this.pool.stats()).toEqual(stats);
    expect(this.events.length).toBe(events);
  }

  async #noNewExchanges(index: number): Promise<void> {
    const record = pickFrom(this.held(), index);
    if (record === undefined || record.lease === null) return;
    const info = this.pool.connections().find((candidate) => candidate.id === record.connectionId);
    const inPool = info !== undefined;
    if (info !== undefined && !info.noNewExchanges) this.drainReasons.set(info.id, 'no-new-exchanges');
    record.lease.noNewExchanges();
    await turn();
    const after = this.pool.connections().find((info) => info.id === record.connectionId);
    if (inPool) expect(after, 'a leased connection marked noNewExchanges stays until released').toMatchObject({ noNewExchanges: true });
  }

  async #evict(index: number): Promise<void> {
    const pooled = this.pool.connections().map((info) => info.id);
    const gone = this.knownIds().filter((known) => !pooled.includes(known));
    const ids = [...pooled, ...gone.slice(-1), 'c-unknown'];
    const id = pickFrom(ids, index) as string;
    const before = this.pool.connections().find((info) => info.id === id);
    if (before !== undefined && before.state !== 'idle' && !before.noNewExchanges) this.drainReasons.set(id, 'evicted');
    const result = this.pool.evict(id);
    expect(result, `evict(${id}) says whether it knew the connection`).toBe(before !== undefined);
    await turn();
    const after = this.pool.connections().find((info) => info.id === id);
    if (before?.state === 'idle') expect(after, 'an idle connection is evicted at once').toBeUndefined();
    if (before?.state === 'inUse') expect(after, 'a leased connection is evicted once released').toMatchObject({ noNewExchanges: true });
  }

  async #evictAll(): Promise<void> {
    const idle = this.pool.idleConnectionCount();
    const events = this.events.length;
    expect(this.pool.evictAll()).toBe(idle);
    expect(this.pool.connections().filter((info) => info.state === 'idle')).toEqual([]);
    if (this.scenario.observe) {
      const closed = this.events.slice(events).filter((event) => event.type === 'connection-closed' && event.reason === 'evict-all');
      expect(closed.length).toBe(idle);
    }
    await turn();
  }

  /** Transports of connections in the pool first, then the others (whose close listener must be gone). */
  #pooledTransports(): FakeTransport[] {
    const ids = new Set(this.pool.connections().map((info) => info.id));
    const pooled = this.connector.transports.filter((transport) => transport.connectionId !== null && ids.has(transport.connectionId));
    const gone = this.connector.transports.filter((transport) => !pooled.includes(transport));
    return [...pooled, ...gone.slice(-1)];
  }

  async #peerClose(index: number): Promise<void> {
    const transport = pickFrom(this.#pooledTransports(), index);
    if (transport === undefined) return;
    const id = transport.connectionId;
    const info = this.pool.connections().find((candidate) => candidate.id === id);
    const inPool = info !== undefined;
    // A connection already marked noNewExchanges closes with the reason it was marked.
    const reason = info?.noNewExchanges ? this.drainReasonOf(info.id) : 'peer-closed';
    const events = this.events.length;
    transport.peerClose();
    await turn();
    if (!inPool) return;
    expect(this.pool.connections().some((info) => info.id === id), 'a connection its peer closed leaves the pool').toBe(false);
    expect(transport.closeCalls).toBe(1);
    if (this.scenario.observe) {
      expect(this.events.slice(events)).toContainEqual(expect.objectContaining({ type: 'connection-closed', connectionId: id, reason }));
    }
  }

  async #abort(index: number): Promise<void> {
    const record = pickFrom(
      this.acquires.filter((candidate) => candidate.controller !== null && !candidate.controller.signal.aborted),
      index,
    );
    if (record === undefined || record.controller === null) return;
    const pending = record.status === 'pending';
    if (pending) coverage.abortedWhilePending++;
    record.controller.abort(new Error('the caller gave up (fake)'));
    await turn();
    if (pending) {
      expect(record.status, 'an aborted acquire rejects').toBe('rejected');
      expect((record.error as ConnectionPoolError).code).toBe('ERR_ACQUIRE_ABORTED');
    }
  }

  async #cleanup(): Promise<void> {
    const now = this.clock.now;
    const before = this.pool.connections();
    const waiters = this.pool.stats().waiters;
    let delay = 0;
    let passes = 0;
    for (; passes <= before.length + 1; passes++) {
      delay = this.pool.cleanup(now);
      if (delay !== 0) break;
    }
    expect(delay, 'cleanup returns 0 only while it evicts').not.toBe(0);
    const after = this.pool.connections();
    if (waiters === 0) {
      // (With waiters, an eviction may let one of them connect at once.)
      expect(before.length - after.length, 'each cleanup that returned 0 evicted one idle connection').toBe(passes);
      for (const info of before) {
        if (!after.some((kept) => kept.id === info.id)) expect(info.state).toBe('idle');
      }
    }
    const idle = after.filter((info) => info.state === 'idle');
    const open = after.filter((info) => info.state !== 'connecting');
    expect(idle.length).toBeLessThanOrEqual(this.options.maxIdleConnections);
    if (idle.length > 0) {
      const next = Math.min(...idle.map((info) => (info.idleAt ?? Infinity) + this.lifeOf(info)));
      expect(delay, 'cleanup returns the time until the next idle connection expires').toBe(next - now);
      expect(delay).toBeGreaterThan(0);
    } else if (open.length > 0) {
      expect(delay, 'cleanup with every connection in use returns keepAlive').toBe(this.options.keepAlive);
    } else {
      expect(delay, 'cleanup of a pool with no open connection returns -1').toBe(-1);
    }
    await turn();
  }

  async #startClose(): Promise<void> {
    if (this.closing !== null) {
      expect(this.pool.close()).toBe(this.closing);
      return;
    }
    this.#beginClose();
    await turn();
  }

  #beginClose(): void {
    if (this.pool.stats().leases > 0) coverage.closedWithLeases++;
    this.closingSince = this.clock.now;
    const closing = this.pool.close({ timeout: this.options.drainTimeout });
    this.closing = closing;
    closing.then(() => {
      this.closed = true;
    });
  }

  /** Time enough for every waiter to time out and every connect to end. */
  async settleAcquires(): Promise<void> {
    await this.clock.advance(this.options.acquireTimeout + this.options.connectTimeout + 1);
    const pending = this.acquires.filter((record) => record.status === 'pending');
    expect(
      pending.map((record) => record.serial),
      'every acquire settles within acquireTimeout + connectTimeout',
    ).toEqual([]);
  }

  // ---- invariants --------------------------------------------------------------------------

  checkInvariants(): void {
    const { pool, options } = this;
    const now = this.clock.now;
    const infos = pool.connections();
    const stats = pool.stats();
    const ids = new Set(infos.map((info) => info.id));
    this.#steps++;
    for (const id of this.#idleSince.keys()) if (!ids.has(id)) this.#idleSince.delete(id);
    for (const info of infos) {
      if (info.state !== 'idle') this.#idleSince.delete(info.id);
      else if (!this.#idleSince.has(info.id)) this.#idleSince.set(info.id, this.#steps);
    }

    expect(this.eventProblems).toEqual([]);
    if (stats.waiters > 0) coverage.queued++;
    if (infos.some((info) => info.allocations > 1)) coverage.multiplexedShared++;
    expect(pool.connectionCount()).toBe(infos.length);
    expect(ids.size).toBe(infos.length);
    expect(stats.connections).toBe(infos.length);
    const count = (state: string): number => infos.filter((info) => info.state === state).length;
    expect({ connecting: stats.connecting, idle: stats.idle, inUse: stats.inUse }).toEqual({
      connecting: count('connecting'),
      idle: count('idle'),
      inUse: count('inUse'),
    });
    expect(stats.connecting + stats.idle + stats.inUse).toBe(stats.connections);
    expect(pool.idleConnectionCount()).toBe(stats.idle);

    // Each connection's state agrees with its allocations.
    for (const info of infos) {
      expect(info.state).not.toBe('evicted');
      if (info.state === 'connecting') {
        expect(info.allocations).toBe(0);
        expect(info.idleAt).toBeNull();
      } else {
        expect(info.state === 'inUse', `${info.id}: inUse iff it has allocations`).toBe(info.allocations > 0);
        expect(info.allocations).toBeLessThanOrEqual(info.allocationLimit);
        expect(info.idleAt === null).toBe(info.state === 'inUse');
      }
      if (info.noNewExchanges) expect(info.state, `${info.id}: noNewExchanges never sits idle`).not.toBe('idle');
      if (info.state === 'connecting') {
        expect(now - info.createdAt, `${info.id}: connecting past connectTimeout`).toBeLessThan(options.connectTimeout);
      }
      if (info.state === 'idle') {
        expect(now - (info.idleAt ?? Infinity), `${info.id}: idle past keepAlive (or its idleTimeout)`).toBeLessThan(this.lifeOf(info));
      }
    }

    // Limits.
    expect(stats.idle).toBeLessThanOrEqual(options.maxIdleConnections);
    expect(infos.length).toBeLessThanOrEqual(options.maxConnections);
    const hosts = ADDRESSES.map((url) => new URL(url).hostname);
    for (const host of hosts) {
      expect(infos.filter((info) => hostOf(info) === host).length).toBeLessThanOrEqual(options.maxConnectionsPerAddress);
    }

    // Leases: the pool counts exactly the unreleased leases the test holds on pooled connections.
    const live = this.held().filter((record) => record.connectionId !== null && ids.has(record.connectionId));
    expect(stats.leases, 'stats().leases').toBe(live.length);
    for (const info of infos) {
      if (info.state !== 'connecting') {
        expect(info.allocations, `${info.id}: allocations`).toBe(live.filter((record) => record.connectionId === info.id).length);
      }
    }
    // lease.reused: false exactly for the first lease of each connection (the one whose connect made it).
    const firstLease = new Map<string, AcquireRecord>();
    for (const record of this.resolvedInOrder) {
      const id = record.connectionId as string;
      expect(record.lease?.reused, `lease #${record.serial} on ${id}: reused`).toBe(firstLease.has(id));
      if (!firstLease.has(id)) firstLease.set(id, record);
    }
    for (const record of this.acquires) {
      if (record.lease === null) continue;
      const inPool = record.connectionId !== null && ids.has(record.connectionId);
      expect(record.lease.released).toBe(record.released);
      if (!inPool) expect(record.lease.connection.state).toBe('evicted');
      else if (!record.released) expect(record.lease.connection.state).toBe('inUse');
    }

    // Transports: closed at most once, exactly once when their connection has left the pool.
    for (const transport of this.connector.transports) {
      expect(transport.closeCalls, `transport #${transport.serial} closed more than once`).toBeLessThanOrEqual(1);
      if (transport.connectionId !== null) {
        const inPool = ids.has(transport.connectionId);
        expect(transport.closeCalls, `transport of ${transport.connectionId} (in pool: ${inPool})`).toBe(inPool ? 0 : 1);
        if (!inPool) expect(transport.listeners.size, 'the pool removes its close listener').toBe(0);
      } else {
        // Never handed to anyone: it came after the pool had given up on its connect.
        expect(transport.signal.aborted, `transport #${transport.serial} was accepted but never lent`).toBe(true);
        expect(transport.closeCalls, `late transport #${transport.serial} is closed`).toBe(1);
      }
    }

    // Settled acquires failed for a reason the contract names.
    for (const record of this.acquires) {
      if (record.status !== 'rejected') continue;
      const error = record.error;
      if (error instanceof ConnectRefusedError) continue;
      expect(error).toBeInstanceOf(ConnectionPoolError);
      const code = (error as ConnectionPoolError).code;
      expect(ACQUIRE_ERROR_CODES.has(code), `unexpected error code ${code}`).toBe(true);
      if (code === 'ERR_ACQUIRE_ABORTED') expect(record.controller?.signal.aborted).toBe(true);
    }

    // Waiters: each pending acquire is either connecting its own connection or queued.
    const waiting = new Map<string, number>();
    for (const host of hosts) {
      const pending = this.acquires.filter((record) => record.status === 'pending' && record.host === host).length;
      const connecting = infos.filter((info) => hostOf(info) === host && info.state === 'connecting').length;
      expect(pending - connecting, `${host}: pending acquires minus connects in flight`).toBeGreaterThanOrEqual(0);
      waiting.set(host, pending - connecting);
      if (connecting === 0) {
        // All of them wait in line, and none longer than acquireTimeout.
        for (const record of this.acquires) {
          if (record.status !== 'pending' || record.host !== host) continue;
          expect(now - record.startedAt, `acquire #${record.serial} waited past acquireTimeout`).toBeLessThan(options.acquireTimeout);
        }
      }
    }
    expect(stats.waiters, 'stats().waiters').toBe([...waiting.values()].reduce((a, b) => a + b, 0));
    if (stats.state !== 'closed') {
      const busy = hosts.filter((host) => (waiting.get(host) ?? 0) > 0 || infos.some((info) => hostOf(info) === host));
      expect(stats.addresses, 'stats().addresses: addresses with a connection or a waiter').toBe(busy.length);
    }

    if (this.closing === null) {
      expect(stats.state).toBe('open');
      // Nobody waits for what is there to take.
      const idleAnywhere = infos.some((info) => info.state === 'idle');
      for (const [host, waiters] of waiting) {
        if (waiters === 0) continue;
        const mine = infos.filter((info) => hostOf(info) === host);
        expect(
          mine.filter((info) => info.state === 'idle').map((info) => info.id),
          `${host} has waiters and an idle connection`,
        ).toEqual([]);
        const spare = mine.filter(
          (info) =>
            info.state === 'inUse' &&
            !info.noNewExchanges &&
            info.allocations < info.allocationLimit &&
            this.transportOf(info.id)?.healthy === true,
        );
        expect(
          spare.map((info) => info.id),
          `${host} has waiters and a multiplexed connection with room`,
        ).toEqual([]);
        const blocked = mine.length >= options.maxConnectionsPerAddress || infos.length >= options.maxConnections;
        expect(blocked, `${host} has waiters but room for a connection`).toBe(true);
        if (mine.length === 0) expect(idleAnywhere, `${host} waits although an idle connection could make room`).toBe(false);
      }
      // The cleanup loop runs while there is anything to clean.
      if (stats.idle + stats.inUse > 0) {
        expect(stats.cleanup.nextTickAt, 'the cleanup loop is stopped with open connections').not.toBeNull();
        expect(stats.cleanup.nextTickAt ?? -Infinity).toBeGreaterThan(now);
      }
    } else {
      expect(['closing', 'closed']).toContain(stats.state);
      expect(stats.waiters).toBe(0);
      expect(stats.connecting + stats.idle, 'a closing pool holds only leased connections').toBe(0);
      expect(stats.state === 'closed', 'closed once nothing is left').toBe(infos.length === 0);
      expect(this.closed, 'close() resolves once closed').toBe(stats.state === 'closed');
      if (now >= this.closingSince + options.drainTimeout) expect(stats.state, 'closed by the end of the drain timeout').toBe('closed');
    }

    // Events: each connection connects once and closes once; a close() that threw is reported.
    if (this.scenario.observe) {
      for (const event of this.events) {
        if (event.type !== 'connection-closed') continue;
        const transport = this.transportOf(event.connectionId);
        if (transport !== undefined) expect(event.error !== undefined, `${event.connectionId}: close error reported`).toBe(transport.closeThrows);
      }
      const closedIds = this.events.flatMap((event) => (event.type === 'connection-closed' ? [event.connectionId] : []));
      expect(new Set(closedIds).size, 'a connection closed twice').toBe(closedIds.length);
      const failed = new Set(this.events.flatMap((event) => (event.type === 'connect-failed' ? [event.connectionId] : [])));
      const ended = new Set(this.events.flatMap((event) => (event.type === 'connect-end' ? [event.connectionId] : [])));
      for (const id of closedIds) {
        expect(ended.has(id) && !failed.has(id), `${id} closed without having connected`).toBe(true);
        expect(ids.has(id), `${id} closed but still in the pool`).toBe(false);
      }
      for (const id of failed) expect(ids.has(id) || ended.has(id), `${id} failed but pooled`).toBe(false);
    }
  }

  // ---- the end -------------------------------------------------------------------------------

  async finish(): Promise<void> {
    await this.settleAcquires();
    this.checkInvariants();
    if (this.closing === null) await this.#startClose();
    await this.clock.advance(this.options.drainTimeout + 1);
    // Connects that ignored their signal deliver now, long after the pool gave up on them.
    for (const pending of this.connector.manual) if (!pending.done) this.connector.complete(pending, true);
    await turn();
    this.checkInvariants();

    expect(this.closed, 'close() resolves after the drain timeout').toBe(true);
    expect(this.pool.stats().state).toBe('closed');
    expect(this.pool.connectionCount()).toBe(0);
    expect(this.acquires.filter((record) => record.status === 'pending')).toEqual([]);
    for (const transport of this.connector.transports) {
      expect(transport.closeCalls, `transport #${transport.serial} is closed exactly once`).toBe(1);
      expect(transport.listeners.size).toBe(0);
    }
    expect(this.clock.scheduler.actions.length, 'a closed pool leaves no timer behind').toBe(0);
    if (this.scenario.observe) {
      expect(this.eventsCompleted).toBe(true);
      expect(this.events.at(-1)?.type).toBe('pool-closed');
      const started = this.events.flatMap((event) => (event.type === 'connect-start' ? [event.connectionId] : []));
      const ended = this.events.flatMap((event) => (event.type === 'connect-end' ? [event.connectionId] : []));
      const failed = this.events.flatMap((event) => (event.type === 'connect-failed' ? [event.connectionId] : []));
      const closed = this.events.flatMap((event) => (event.type === 'connection-closed' ? [event.connectionId] : []));
      expect([...ended, ...failed].sort(), 'every connect ends or fails, once').toEqual([...started].sort());
      expect([...closed].sort(), 'every connection that connected is closed, once').toEqual([...ended].sort());
    }
    const acquired = this.acquires.filter((record) => record.status === 'resolved').length;
    const totals = this.pool.stats().totals;
    expect(totals.acquired).toBe(acquired);
    expect(totals.connects).toBe(this.connector.calls);

    coverage.reused += totals.reused;
    coverage.acquireTimedOut += totals.acquireTimeouts;
    coverage.connectFailed += totals.connectFailures;
    coverage.connectTimedOut += this.acquires.filter((record) => (record.error as ConnectionPoolError | undefined)?.code === 'ERR_CONNECT_TIMEOUT').length;
    coverage.lateTransports += this.connector.transports.filter((transport) => transport.connectionId === null).length;
    for (const event of this.events) {
      if (event.type === 'connection-closed' && `closed:${event.reason}` in coverage) coverage[`closed:${event.reason}` as Covered]++;
      if (event.type === 'pool-closed') coverage.forcedOnClose += event.forced;
    }
  }
}

async function runScenario(scenario: Scenario): Promise<void> {
  const run = new Run(scenario);
  run.checkInvariants();
  for (const op of scenario.ops) {
    // A connection marked noNewExchanges takes no new lease, whatever happens next (but the
    // lease of the acquirer whose connect made it, if it was marked while connecting).
    const draining = new Map(
      run.pool
        .connections()
        .flatMap((info) => (info.noNewExchanges ? [[info.id, info.state === 'connecting' ? 1 : info.allocations] as const] : [])),
    );
    await run.step(op);
    for (const info of run.pool.connections()) {
      const before = draining.get(info.id);
      if (before !== undefined) expect(info.allocations, `${info.id} is marked noNewExchanges but took a new lease`).toBeLessThanOrEqual(before);
    }
    run.checkInvariants();
  }
  await run.finish();
}

// ---- the suite -------------------------------------------------------------------------------

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

describe('ConnectionPool under random operations (fast-check, virtual time)', () => {
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('keeps its views, limits, leases and transports consistent, and settles every acquire', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await runScenario(scenario);
        await turn();
        expect(unhandled, 'no unhandled rejection').toEqual([]);
      }),
      { numRuns: 300 },
    );
    // The runs reached every situation the invariants are about (each is hit several times per suite run).
    for (const [what, times] of Object.entries(coverage)) expect(times, `no run exercised ${what}: ${JSON.stringify(coverage)}`).toBeGreaterThan(0);
  }, 60_000);
});

// ---- regressions: minimal cases the property found ------------------------------------------

/** A pool on the fake connector and a virtual clock, for the hand-written cases below. */
function smallPool(options: Partial<ScenarioOptions>, plan: PlannedConnect[] = [{ outcome: 'ok' }]) {
  const clock = new Clock();
  const connector = new PlannedConnector(plan);
  const pool = new ConnectionPool({ ...options, connector, scheduler: clock.scheduler });
  return { pool, clock, connector };
}

describe('ConnectionPool regressions found by the property', () => {
  it('a multiplexed connection evicted while connecting takes no lease beyond its own acquirer', async () => {
    const { pool, connector } = smallPool({}, [{ outcome: 'hang' }]);
    const first = pool.acquire('http://a.test');
    expect(pool.evict('c1')).toBe(true); // connecting: marked noNewExchanges
    const pending = connector.manual[0] as ManualConnect;
    pending.resolve(new FakeTransport(1, 'a.test', 2, undefined, pending.signal)); // HTTP/2-like: 2 streams
    const lease = await first; // its own acquirer gets it
    expect(pool.connections()).toMatchObject([{ id: 'c1', noNewExchanges: true, allocations: 1, allocationLimit: 2 }]);
    const second = pool.acquire('http://a.test');
    second.catch(() => undefined);
    await turn();
    // c1 must not be shared: the second acquire gets a connection of its own.
    expect(pool.connections().find((info) => info.id === 'c1')?.allocations).toBe(1);
    expect(connector.calls).toBe(2);
    lease.release();
    expect(pool.connections().map((info) => info.id)).not.toContain('c1');
  });

  it('an acquire whose signal is already aborted leaves no address behind', async () => {
    const { pool } = smallPool({});
    const controller = new AbortController();
    controller.abort();
    await expect(pool.acquire('http://a.test', { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_ACQUIRE_ABORTED' });
    // Nothing was connected nor is waiting: the address must not be kept (one bucket per distinct address would pile up).
    expect(pool.stats()).toMatchObject({ connections: 0, waiters: 0, addresses: 0 });
  });

  it('a closing pool forgets the addresses it no longer has a connection or a waiter for', async () => {
    const { pool } = smallPool({ maxConnections: 1 });
    const lease = await pool.acquire('http://a.test');
    const waiting = pool.acquire('http://b.test'); // waits: maxConnections = 1
    await turn();
    expect(pool.stats()).toMatchObject({ connections: 1, waiters: 1, addresses: 2 });
    const closing = pool.close({ timeout: 1_000 });
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    // b has neither a connection nor a waiter any more.
    expect(pool.stats()).toMatchObject({ state: 'closing', connections: 1, waiters: 0, addresses: 1 });
    lease.release();
    await closing;
    expect(pool.stats()).toMatchObject({ state: 'closed', connections: 0, addresses: 0 });
  });

  it('an acquire that evicts the last (unhealthy) connection of its address still pools its new connection', async () => {
    const { pool, connector } = smallPool({ maxConnectionsPerAddress: 1 });
    const first = await pool.acquire('http://a.test');
    (first.transport as FakeTransport).healthy = false;
    first.release(); // c1 idle, and unhealthy
    const second = await pool.acquire('http://a.test'); // c1 evicted (unhealthy): c2
    expect(second.connection.id).toBe('c2');
    second.release(); // c2 idle
    const third = await pool.acquire('http://a.test');
    // c2 is idle and healthy: it must be reused, and maxConnectionsPerAddress = 1 must hold.
    expect(third.connection.id).toBe('c2');
    expect(connector.calls).toBe(2);
    expect(pool.connections().map((info) => info.id)).toEqual(['c2']);
    expect(pool.stats().addresses).toBe(1);
  });
});
