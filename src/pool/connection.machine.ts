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
  readonly reason: EvictionReason | null;
  readonly error: Error | null;
  /** Told when `transport.close()` throws (the actor still ends in `evicted`). */
  readonly onCloseError: (connectionId: string, error: unknown) => void;
}

/** The events a connection actor accepts. */
export type ConnectionMachineEvent =
  | { type: 'CONNECTED'; transport: Transport }
  | { type: 'CONNECT_FAILED'; error: Error }
  | { type: 'ACQUIRE' }
  | { type: 'RELEASE' }
  | { type: 'EVICT'; reason: CloseReason };

/** What a connection actor is started with. */
export interface ConnectionInput {
  id: string;
  onCloseError: (connectionId: string, error: unknown) => void;
}

/**
 * The lifecycle of one pooled connection: `connecting → idle ⇄ inUse → evicted`.
 *
 * `evicted` is final and closes the transport on entry, so a transport is closed exactly
 * once whatever path led there (connect failure, peer close, unhealthy, leak, eviction,
 * pool close). The pool owns the hot path: it tells the actor about `idle ⇄ inUse` changes
 * before anyone reads the actor, not on every acquire and release (see `PooledConnection`).
 */
export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionMachineEvent,
    input: {} as ConnectionInput,
  },
  actions: {
    closeTransport: ({ context }) => {
      if (context.transport === null) return;
      try {
        context.transport.close();
      } catch (error) {
        context.onCloseError(context.id, error);
      }
    },
  },
}).createMachine({
  id: 'connection',
  initial: 'connecting',
  context: ({ input }) => ({
    id: input.id,
    transport: null,
    reason: null,
    error: null,
    onCloseError: input.onCloseError,
  }),
  states: {
    connecting: {
      on: {
        CONNECTED: { target: 'idle', actions: assign({ transport: ({ event }) => event.transport }) },
        CONNECT_FAILED: {
          target: 'evicted',
          actions: assign({ reason: 'connect-failed' as const, error: ({ event }) => event.error }),
        },
        EVICT: { target: 'evicted', actions: assign({ reason: ({ event }) => event.reason }) },
      },
    },
    idle: {
      on: {
        ACQUIRE: 'inUse',
        EVICT: { target: 'evicted', actions: assign({ reason: ({ event }) => event.reason }) },
      },
    },
    inUse: {
      on: {
        RELEASE: 'idle',
        EVICT: { target: 'evicted', actions: assign({ reason: ({ event }) => event.reason }) },
      },
    },
    evicted: {
      type: 'final',
      entry: 'closeTransport',
    },
  },
});
