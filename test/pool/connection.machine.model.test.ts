import { describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { createTestModel, getShortestPaths, getSimplePaths, type StatePath } from 'xstate/graph';
import {
  connectionMachine,
  type CloseReason,
  type ConnectionMachineEvent,
  type ConnectionState,
  type EvictionReason,
  type Transport,
} from '../../src/pool/index.js';

/**
 * Model-based tests of the connection actor: xstate/graph walks the machine with sample
 * events, and every path it finds is replayed on a real actor, which must reach the same
 * states, end with the output the contract says (why it was evicted), and do no I/O: it
 * never closes a transport (the pool does, once, when it evicts; see test/pool/cleanup,
 * close and the property tests).
 */

const CLOSE_REASONS: readonly CloseReason[] = [
  'keep-alive-expired',
  'idle-limit',
  'evict-all',
  'evicted',
  'capacity',
  'unhealthy',
  'peer-closed',
  'leaked',
  'no-new-exchanges',
  'pool-closed',
  'error',
];

const ALL_STATES: readonly ConnectionState[] = ['connecting', 'idle', 'inUse', 'evicted'];

/** The transport given to the traversal and the table: the machine must never close it. */
const SAMPLE_TRANSPORT: Transport = {
  close: () => {
    throw new Error('the path generator must never close a transport');
  },
};
const SAMPLE_CONNECT_ERROR = new Error('ECONNREFUSED (sample)');

const SAMPLE_EVENTS: readonly ConnectionMachineEvent[] = [
  { type: 'CONNECTED', transport: SAMPLE_TRANSPORT },
  { type: 'CONNECT_FAILED', error: SAMPLE_CONNECT_ERROR },
  { type: 'ACQUIRE' },
  { type: 'RELEASE' },
  ...CLOSE_REASONS.map((reason): ConnectionMachineEvent => ({ type: 'EVICT', reason })),
];

const MODEL_INPUT = { id: 'model' };

/** States are told apart by value, context and output (the eviction reason is in the output). */
const serializeState = (state: { value: unknown; context: unknown; output?: unknown }): string =>
  JSON.stringify({ value: state.value, context: state.context, output: state.output });

type MachinePath = StatePath<ReturnType<typeof connectionMachine.transition>, ConnectionMachineEvent>;

/** A transport that counts close() calls (the machine must make none). */
class CountingTransport implements Transport {
  closeCalls = 0;

  close(): void {
    this.closeCalls++;
  }
}

/** The path's events without the synthetic `xstate.init` that xstate/graph puts first. */
function machineEvents(path: MachinePath): ConnectionMachineEvent[] {
  return path.steps.map((step) => step.event).filter((event) => (event.type as string) !== 'xstate.init');
}

function describePath(path: MachinePath): string {
  const events = machineEvents(path).map((event) => (event.type === 'EVICT' ? `EVICT(${event.reason})` : event.type));
  return ['connecting', ...events].join(' → ') + ` ⇒ ${String(path.state.value)}`;
}

/** What the contract says must be true at the end of a path, derived from its events alone. */
function expectedOutcome(events: readonly ConnectionMachineEvent[]): {
  connected: boolean;
  evicted: boolean;
  reason: EvictionReason | null;
  error: Error | null;
} {
  const connected = events.some((event) => event.type === 'CONNECTED');
  const last = events.at(-1);
  if (last?.type === 'EVICT') return { connected, evicted: true, reason: last.reason, error: null };
  if (last?.type === 'CONNECT_FAILED') return { connected, evicted: true, reason: 'connect-failed', error: last.error };
  return { connected, evicted: false, reason: null, error: null };
}

/**
 * Replays `path` on a real actor, with a fresh transport for CONNECTED, checking after every
 * step that the actor is where the model says, then checks how the path ended.
 */
function replay(path: MachinePath): void {
  const actor = createActor(connectionMachine, { input: { id: 'c7' } });
  actor.start();
  const transports: CountingTransport[] = [];
  const first = path.steps[0];
  expect(first?.event.type).toBe('xstate.init');
  expect(actor.getSnapshot().value).toBe(first?.state.value);

  for (const step of path.steps.slice(1)) {
    const event = step.event;
    if (event.type === 'CONNECTED') {
      const transport = new CountingTransport();
      transports.push(transport);
      actor.send({ type: 'CONNECTED', transport });
    } else {
      actor.send(event);
    }
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe(step.state.value);
    expect(snapshot.output?.reason ?? null).toBe(step.state.output?.reason ?? null);
  }

  const events = machineEvents(path);
  const expected = expectedOutcome(events);
  const snapshot = actor.getSnapshot();
  expect(snapshot.value).toBe(path.state.value);
  expect(snapshot.value === 'evicted').toBe(expected.evicted);
  expect(snapshot.status).toBe(expected.evicted ? 'done' : 'active');
  expect(snapshot.context.id).toBe('c7');
  // Why it ended is the actor's output, and there is none before the end.
  if (expected.evicted) expect(snapshot.output).toEqual({ reason: expected.reason, error: expected.error });
  else expect(snapshot.output).toBeUndefined();
  // CONNECTED happens at most once on any path (only `connecting` accepts it).
  expect(transports.length).toBe(expected.connected ? 1 : 0);
  expect(snapshot.context.transport).toBe(transports[0] ?? null);
  // The machine records; closing is the pool's.
  expect(transports.map((transport) => transport.closeCalls)).toEqual(transports.map(() => 0));

  if (expected.evicted) {
    // `evicted` is final: nothing sent afterwards moves the actor or changes its output.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      for (const event of SAMPLE_EVENTS) actor.send(event);
    } finally {
      warn.mockRestore();
    }
    expect(actor.getSnapshot().value).toBe('evicted');
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output?.reason).toBe(expected.reason);
  } else {
    actor.stop();
  }
}

const shortestPaths = getShortestPaths(connectionMachine, { events: SAMPLE_EVENTS, input: MODEL_INPUT, serializeState });
const simplePaths = getSimplePaths(connectionMachine, { events: SAMPLE_EVENTS, input: MODEL_INPUT, serializeState });

describe('connection machine, model-based', () => {
  it('reaches exactly the states connecting, idle, inUse and evicted, and declares no other', () => {
    const reachedShortest = new Set(shortestPaths.map((path) => path.state.value));
    const reachedSimple = new Set(simplePaths.map((path) => path.state.value));
    expect([...reachedShortest].sort()).toEqual([...ALL_STATES].sort());
    expect([...reachedSimple].sort()).toEqual([...ALL_STATES].sort());
    expect(Object.keys(connectionMachine.root.states).sort()).toEqual([...ALL_STATES].sort());
    expect(connectionMachine.root.states.evicted?.type).toBe('final');
  });

  it('reaches evicted with every close reason, from connecting, idle and inUse, and with connect-failed', () => {
    const endings = new Set(
      simplePaths
        .filter((path) => path.state.value === 'evicted')
        .map((path) => {
          const from = path.steps.at(-2)?.state.value;
          return `${String(from)}:${String(path.state.output?.reason)}`;
        }),
    );
    const expected = new Set<string>(['connecting:connect-failed']);
    for (const from of ['connecting', 'idle', 'inUse']) for (const reason of CLOSE_REASONS) expected.add(`${from}:${reason}`);
    expect(endings).toEqual(expected);
  });

  it('generates paths to check (the traversal did not come back empty)', () => {
    // 1 initial + idle + inUse + evicted: via connect-failed, and via 11 reasons from connecting, idle and inUse.
    expect(shortestPaths.length).toBeGreaterThanOrEqual(4);
    expect(simplePaths.length).toBeGreaterThan(shortestPaths.length);
  });

  describe.each([
    ['shortest', shortestPaths],
    ['simple', simplePaths],
  ] as const)('along every %s path, a real actor', (_kind, paths) => {
    it.each(paths.map((path) => [describePath(path), path] as const))('%s', (_name, path) => {
      replay(path);
    });
  });

  describe('driven through createTestModel', () => {
    const model = createTestModel(connectionMachine, { events: SAMPLE_EVENTS, input: MODEL_INPUT, serializeState });
    const paths = [...model.getShortestPaths(), ...model.getSimplePaths()];

    it('has paths through every state (prefixes of longer paths are merged into them)', () => {
      const visited = new Set(paths.flatMap((path) => path.steps.map((step) => step.state.value)));
      expect(visited).toEqual(new Set(ALL_STATES));
    });

    it.each(paths.map((path) => [path.description, path] as const))('%s', async (_name, path) => {
      const actor = createActor(connectionMachine, { input: { id: 'c9' } });
      const transports: CountingTransport[] = [];
      const closes = (): number => transports.reduce((sum, transport) => sum + transport.closeCalls, 0);
      const visited: string[] = [];
      const expectIn = (state: ConnectionState) => (): void => {
        visited.push(state);
        expect(actor.getSnapshot().value).toBe(state);
        expect(actor.getSnapshot().status).toBe(state === 'evicted' ? 'done' : 'active');
        expect(closes()).toBe(0); // the machine never closes a transport
      };
      actor.start();
      const result = await path.test({
        states: {
          connecting: expectIn('connecting'),
          idle: expectIn('idle'),
          inUse: expectIn('inUse'),
          evicted: expectIn('evicted'),
        },
        events: {
          CONNECTED: () => {
            const transport = new CountingTransport();
            transports.push(transport);
            actor.send({ type: 'CONNECTED', transport });
          },
          CONNECT_FAILED: ({ event }) => actor.send(event as ConnectionMachineEvent),
          ACQUIRE: () => actor.send({ type: 'ACQUIRE' }),
          RELEASE: () => actor.send({ type: 'RELEASE' }),
          EVICT: ({ event }) => actor.send(event as ConnectionMachineEvent),
        },
      });
      // Every step was checked against the real actor, the initial state included.
      expect(result.steps.length).toBe(path.steps.length);
      expect(visited.length).toBe(path.steps.length);
      expect(visited.at(-1)).toBe(path.state.value);
      expect(actor.getSnapshot().output).toEqual(path.state.output);
      actor.stop();
    });
  });

  describe('transition table', () => {
    /** Where each sample event takes each state; `null`: the event is ignored there. */
    const TABLE: Record<Exclude<ConnectionState, 'evicted'>, Record<string, ConnectionState | null>> = {
      connecting: { CONNECTED: 'idle', CONNECT_FAILED: 'evicted', ACQUIRE: null, RELEASE: null, EVICT: 'evicted' },
      idle: { CONNECTED: null, CONNECT_FAILED: null, ACQUIRE: 'inUse', RELEASE: null, EVICT: 'evicted' },
      inUse: { CONNECTED: null, CONNECT_FAILED: null, ACQUIRE: null, RELEASE: 'idle', EVICT: 'evicted' },
    };
    const PREFIX: Record<keyof typeof TABLE, ConnectionMachineEvent[]> = {
      connecting: [],
      idle: [{ type: 'CONNECTED', transport: SAMPLE_TRANSPORT }],
      inUse: [{ type: 'CONNECTED', transport: SAMPLE_TRANSPORT }, { type: 'ACQUIRE' }],
    };
    const cases = (Object.keys(TABLE) as Array<keyof typeof TABLE>).flatMap((from) =>
      SAMPLE_EVENTS.map((event) => [from, event.type === 'EVICT' ? `EVICT(${event.reason})` : event.type, event] as const),
    );

    it.each(cases)('%s + %s', (from, _name, event) => {
      const actor = createActor(connectionMachine, { input: { id: 'c3' } });
      actor.start();
      const transport = new CountingTransport();
      for (const prefixEvent of PREFIX[from]) {
        actor.send(prefixEvent.type === 'CONNECTED' ? { type: 'CONNECTED', transport } : prefixEvent);
      }
      expect(actor.getSnapshot().value).toBe(from);
      const lateTransport = new CountingTransport();
      actor.send(event.type === 'CONNECTED' ? { type: 'CONNECTED', transport: lateTransport } : event);
      const to = TABLE[from][event.type] ?? from;
      expect(actor.getSnapshot().value).toBe(to);
      // Only `connecting` takes a transport; a CONNECTED elsewhere must not replace it.
      const expectedTransport = from !== 'connecting' ? transport : event.type === 'CONNECTED' ? lateTransport : null;
      expect(actor.getSnapshot().context.transport).toBe(expectedTransport);
      expect([transport.closeCalls, lateTransport.closeCalls]).toEqual([0, 0]);
      const output = actor.getSnapshot().output;
      if (to !== 'evicted') expect(output).toBeUndefined();
      else if (event.type === 'EVICT') expect(output).toEqual({ reason: event.reason, error: null });
      else if (event.type === 'CONNECT_FAILED') expect(output).toEqual({ reason: 'connect-failed', error: event.error });
      actor.stop();
    });
  });
});
