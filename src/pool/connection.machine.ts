import { assign, setup } from 'xstate';
import type { CloseReason } from './events.js';
import type { Transport } from './transport.js';

/** The states of a pooled connection's actor. */
export type ConnectionState = 'connecting' | 'idle' | 'inUse' | 'evicted';

/** Why a connection's actor ended: a close reason, or its connect failing. */
export type EvictionReason = CloseReason | 'connect-failed';

/** What a connection actor remembers. */
export interface ConnectionContext {
  readonly id: string;
  readonly transport: Transport | null;
}

/**
 * What a connection actor ends with (its snapshot's `output` once it is in `evicted`): why
 * it ended, and the connect error when that is why.
 */
export interface ConnectionOutput {
  readonly reason: EvictionReason;
  readonly error: Error | null;
}

/** The event that evicts a connection, with why. */
export interface EvictEvent {
  readonly type: 'EVICT';
  readonly reason: CloseReason;
}

/** The events a connection actor accepts. */
export type ConnectionMachineEvent =
  | { type: 'CONNECTED'; transport: Transport }
  | { type: 'CONNECT_FAILED'; error: Error }
  | { type: 'ACQUIRE' }
  | { type: 'RELEASE' }
  | EvictEvent;

/** What a connection actor is started with. */
export interface ConnectionInput {
  id: string;
}

/**
 * The lifecycle of one pooled connection: `connecting → idle ⇄ inUse → evicted`.
 *
 * `evicted` is final, and the actor's output says why it got there (`{ reason, error }`):
 * connect failure, peer close, unhealthy, leak, eviction, pool close. The machine records;
 * it does no I/O: the pool closes the transport, exactly once, when it evicts (docs/architecture.md's
 * Transport contract). Keeping the final transition free of actions and of `assign` matters
 * at scale: it is what a mass eviction pays for every connection (see bench/RESULTS.md,
 * "Evicting 10k expired connections out of 100k").
 *
 * The pool owns the hot path: it tells the actor about `idle ⇄ inUse` changes before anyone
 * reads the actor, not on every acquire and release (see `PooledConnection`).
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionMachineEvent,
    input: {} as ConnectionInput,
    output: {} as ConnectionOutput,
  },
}).createMachine({
  id: 'connection',
  initial: 'connecting',
  context: ({ input }) => ({ id: input.id, transport: null }),
  // The machine's output is its final state's: XState hands it over in the done event.
  output: ({ event }) => (event as unknown as { output: ConnectionOutput }).output,
  states: {
    connecting: {
      on: {
        CONNECTED: { target: 'idle', actions: assign({ transport: ({ event }) => event.transport }) },
        CONNECT_FAILED: 'evicted',
        EVICT: 'evicted',
      },
    },
    idle: {
      on: {
        ACQUIRE: 'inUse',
        EVICT: 'evicted',
      },
    },
    inUse: {
      on: {
        RELEASE: 'idle',
        EVICT: 'evicted',
      },
    },
    evicted: {
      type: 'final',
      // Only CONNECT_FAILED and EVICT lead here.
      output: ({ event }): ConnectionOutput =>
        event.type === 'CONNECT_FAILED' ? { reason: 'connect-failed', error: event.error } : { reason: (event as EvictEvent).reason, error: null },
    },
  },
});
