import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';

/** The properties of Node's `http.Agent` that say what it holds, as monitoring code reads them. */
export interface AgentSocketState {
  readonly sockets: Record<string, Socket[]>;
  readonly freeSockets: Record<string, Socket[]>;
  readonly requests: Record<string, ClientRequest[]>;
  totalSocketCount: number;
  maxSockets: number;
  maxTotalSockets: number;
  maxFreeSockets: number;
}

/**
 * Which agent lists a socket as free, under which name (a free socket is listed by one agent at
 * most). One record per socket for its whole life, updated in place: a socket is listed and
 * unlisted once per request, which must cost no allocation and no listener churn.
 */
interface FreeListing {
  lists: AgentSocketLists | null;
  name: string;
}
const freeListings = new WeakMap<Socket, FreeListing>();

/**
 * Keeps an agent's `sockets`, `freeSockets`, `requests` and `totalSocketCount` as Node's
 * `http.Agent` does, over connections that belong to the pool:
 * - `sockets[name]`: the connections this agent's requests use now;
 * - `freeSockets[name]`: connections this agent gave back to the pool that are still idle
 *   there (one that another client of the pool takes, or that the pool closes, leaves the list);
 * - `requests[name]`: requests waiting because this agent is at a `maxSockets` (per origin)
 *   or `maxTotalSockets` of its own; they go as soon as one of its connections is done. (The
 *   pool's limits queue requests in the pool, for its `acquireTimeout` and `close()`.)
 * Empty lists are deleted, as Node does.
 */
export class AgentSocketLists {
  readonly #agent: AgentSocketState;
  /** Requests leasing a connection now (not yet in `sockets`), by name; they count against the limits. */
  readonly #leasing = new Map<string, number>();
  #leasingTotal = 0;
  #inUseTotal = 0;
  /** The options each queued request was added with, to add it again when its turn comes. */
  readonly #queuedOptions = new WeakMap<ClientRequest, unknown>();

  /** Whether the agent has limits of its own to enforce (else the pool's queue holds its requests). */
  readonly #ownLimits: boolean;

  constructor(agent: AgentSocketState, ownLimits: boolean) {
    this.#agent = agent;
    this.#ownLimits = ownLimits;
  }

  /** Whether this agent may start another connection for `name` now (its own limits). */
  hasRoom(name: string): boolean {
    if (!this.#ownLimits) return true;
    const agent = this.#agent;
    if (this.#inUseTotal + this.#leasingTotal >= agent.maxTotalSockets) return false;
    return (agent.sockets[name]?.length ?? 0) + (this.#leasing.get(name) ?? 0) < agent.maxSockets;
  }

  /** Queues `req` in `requests[name]` until this agent has room (see {@link nextQueued}). */
  queue(name: string, req: ClientRequest, options: unknown): void {
    (this.#agent.requests[name] ??= []).push(req);
    this.#queuedOptions.set(req, options);
  }

  /** The oldest queued request that may go now, with its options, or null. Destroyed ones are dropped. */
  nextQueued(): { req: ClientRequest; options: unknown } | null {
    // Only limits of the agent's own queue requests here.
    if (!this.#ownLimits) return null;
    const requests = this.#agent.requests;
    for (const name of Object.keys(requests)) {
      const queue = requests[name] as ClientRequest[];
      while (queue.length > 0 && (queue[0] as ClientRequest).destroyed) queue.shift();
      if (queue.length > 0 && this.hasRoom(name)) {
        const req = queue.shift() as ClientRequest;
        if (queue.length === 0) delete requests[name];
        const options = this.#queuedOptions.get(req);
        this.#queuedOptions.delete(req);
        return { req, options };
      }
      if (queue.length === 0) delete requests[name];
    }
    return null;
  }

  /** A request of `name` began to lease a connection (counted only against limits of the agent's own). */
  leasing(name: string): void {
    if (!this.#ownLimits) return;
    this.#leasing.set(name, (this.#leasing.get(name) ?? 0) + 1);
    this.#leasingTotal++;
  }

  /** It stopped leasing: it got its connection, or it failed. */
  leased(name: string): void {
    if (!this.#ownLimits) return;
    const count = (this.#leasing.get(name) ?? 1) - 1;
    if (count === 0) this.#leasing.delete(name);
    else this.#leasing.set(name, count);
    this.#leasingTotal--;
  }

  /** A request of this agent now uses `socket`; it leaves whichever free list had it. */
  inUse(name: string, socket: Socket): void {
    AgentSocketLists.unlistFree(socket);
    (this.#agent.sockets[name] ??= []).push(socket);
    this.#inUseTotal++;
    this.#agent.totalSocketCount++;
  }

  /**
   * The request is done with `socket`; `fit`: it goes back to the pool for reuse, and is
   * listed free unless this agent lists `maxFreeSockets` for `name` already. Returns whether
   * it was listed (when not, the caller closes it, as Node destroys a socket it cannot keep).
   */
  doneWith(name: string, socket: Socket, fit: boolean): boolean {
    const agent = this.#agent;
    if (!removeFrom(agent.sockets, name, socket)) return false;
    this.#inUseTotal--;
    agent.totalSocketCount--;
    if (!fit) return false;
    const free = agent.freeSockets[name] ?? [];
    if (free.length >= agent.maxFreeSockets) return false;
    agent.freeSockets[name] = free;
    free.push(socket);
    agent.totalSocketCount++;
    const listing = freeListings.get(socket);
    if (listing === undefined) {
      freeListings.set(socket, { lists: this, name });
      // For the socket's life: a socket that closes while listed leaves its list.
      socket.on('close', onFreeSocketClose);
    } else {
      listing.lists = this;
      listing.name = name;
    }
    return true;
  }

  /** Takes `socket` off the free list that has it, if any (reused by someone, or closed). */
  static unlistFree(socket: Socket): void {
    const listing = freeListings.get(socket);
    if (listing === undefined || listing.lists === null) return;
    const agent = listing.lists.#agent;
    listing.lists = null;
    if (removeFrom(agent.freeSockets, listing.name, socket)) agent.totalSocketCount--;
  }

  /** Whether some agent lists `socket` as free (it sits idle in the pool). */
  static isListedFree(socket: Socket): boolean {
    return (freeListings.get(socket)?.lists ?? null) !== null;
  }
}

function onFreeSocketClose(this: Socket): void {
  AgentSocketLists.unlistFree(this);
}

/** Removes `socket` from `lists[name]`, deleting the list once empty. Returns whether it was there. */
function removeFrom(lists: Record<string, Socket[]>, name: string, socket: Socket): boolean {
  const list = lists[name];
  if (list === undefined) return false;
  const index = list.lastIndexOf(socket);
  if (index === -1) return false;
  list.splice(index, 1);
  if (list.length === 0) delete lists[name];
  return true;
}

/** As Node's agent: a free socket that stays idle past the agent's `timeout` is closed. */
export function idleTimeoutOnFree(socket: Socket, timeoutMs: number): void {
  socket.setTimeout(timeoutMs);
  if (!socket.listeners('timeout').includes(closeIfFree)) socket.on('timeout', closeIfFree);
}

function closeIfFree(this: Socket): void {
  if (AgentSocketLists.isListedFree(this)) this.destroy();
}
