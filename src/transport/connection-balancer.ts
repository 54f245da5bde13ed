import * as dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';

/**
 * How a {@link NetConnector} picks, among the addresses a host name resolves to, the one a
 * new connection goes to:
 * - `'first'`: the first address that answers, in the resolver's order (Node's own way).
 * - `'least-connections'`: the address with the fewest open connections of this connector to
 *   that host and port, ties taken in turn; an address whose last connect failed lately is
 *   tried after the others.
 */
export type BalanceMode = 'first' | 'least-connections';

/** The values of {@link BalanceMode}, for validation and messages. */
export const BALANCE_MODES: readonly BalanceMode[] = ['first', 'least-connections'];

/**
 * How long an address whose connect failed is tried after the others. Long enough to ride
 * out a backend that is restarting or gone (DNS answers lag behind), short enough that one
 * that came back gets its share again soon.
 */
export const FAILED_ADDRESS_PENALTY_MS = 10_000;

/** Host names (with port) remembered at most: the least recently used idle ones are forgotten first. */
const MAX_TRACKED_HOSTS = 1024;

/**
 * One connect's place on an address: made when the balancer chose the address, moved when
 * Happy Eyeballs reached another, dropped when the socket closes.
 */
interface Ticket {
  /** Null until the connector hands the socket over (a lookup may answer before it does). */
  socket: Socket | null;
  address: string | null;
}

/** What the balancer knows of one resolved address of a host and port. */
interface AddressRecord {
  /** Connects that chose it and connections open to it. */
  readonly tickets: Set<Ticket>;
  /** When its last connect failed (clock ms), or -Infinity. */
  failedAt: number;
  /** When it was last chosen (a sequence number, 0: never): ties go to the least recent. */
  chosenAt: number;
}

/** The addresses of one host and port. */
type HostRecord = Map<string, AddressRecord>;

/** One connect's dealings with the balancer: the lookup it passes to Node and the socket it watches. */
export interface BalancedConnect {
  /** The lookup to give `net.connect`/`tls.connect`: resolves, then orders the addresses. */
  readonly lookup: LookupFunction;
  /** Counts the connection on the address it reached, until the socket closes. Call once, right after the socket is made. */
  watch(socket: Socket): void;
}

/**
 * Least-connections balancing over the addresses a name resolves to, for the
 * {@link NetConnector} (option `balance: 'least-connections'`).
 *
 * Each connect resolves the name again (through the connector's `lookup`, or `dns.lookup`)
 * and gets the addresses ordered: the fewest open connections first, ties in turn (the
 * least recently chosen first), addresses that failed lately last. Node's Happy Eyeballs
 * (`autoSelectFamily`) then tries them in that order, interleaving IPv6 and IPv4, so an
 * address that refuses costs one attempt and the connect goes on to the next.
 *
 * A connection counts on the address it reached from the moment it was chosen (so that a
 * burst of connects spreads instead of all picking the same address) until its socket
 * closes. The counts are this balancer's, that is one connector's: by default one pool has
 * one connector. Memory stays bounded: an address a lookup no longer answers is forgotten
 * once it holds no connection and its failure is old, and at most 1024 host names are kept
 * (the least recently used ones with no open connection go first).
 */
export class ConnectionBalancer {
  readonly #hosts = new Map<string, HostRecord>();
  readonly #resolve: LookupFunction;
  #sequence = 0;

  /** @param lookup - the resolver to ask (the connector's `lookup`); default `dns.lookup`. */
  constructor(lookup?: LookupFunction) {
    this.#resolve = lookup ?? (dns.lookup as unknown as LookupFunction);
  }

  /**
   * Starts one connect to `host`:`port`, reading the time from `now` (the pool's clock).
   * Host names only: an IP literal is never looked up, so it needs no balancing.
   */
  begin(host: string, port: number, now: () => number): BalancedConnect {
    const key = `${host.toLowerCase()}:${port}`;
    const ticket: Ticket = { socket: null, address: null };
    let reached = false;
    const lookup: LookupFunction = (hostname, options, callback) => {
      this.#resolve(hostname, { ...options, all: true }, (error, answer, family) => {
        if (error) {
          callback(error, '', 0);
          return;
        }
        const addresses = asList(answer, family);
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND', hostname }), '', 0);
          return;
        }
        if (ticket.socket?.destroyed) return; // given up while resolving: nothing to count
        const ordered = this.#order(key, addresses, now());
        const first = ordered[0] as LookupAddress;
        this.#place(key, ticket, first.address);
        if (options.all) callback(null, ordered);
        else callback(null, first.address, first.family);
      });
    };
    const watch = (socket: Socket): void => {
      ticket.socket = socket;
      const chosen = (): string | null => ticket.address;
      const onError = (): void => {
        // Only a failure to reach the address counts against it (refused, unreachable, timed
        // out), not a TLS handshake that failed after TCP connected: that is no fault of the address.
        if (reached) return;
        for (const address of attemptedAddresses(socket, chosen())) this.#fail(key, address, now());
      };
      const onConnect = (): void => {
        socket.removeListener('error', onError);
        reached = true;
        const remote = socket.remoteAddress ?? chosen();
        for (const address of attemptedAddresses(socket, chosen())) if (address !== remote) this.#fail(key, address, now());
        // Happy Eyeballs may have gone on to another address: the connection counts there.
        if (remote !== null && remote !== ticket.address) this.#place(key, ticket, remote);
        const record = remote === null ? undefined : this.#hosts.get(key)?.get(remote);
        if (record !== undefined) record.failedAt = -Infinity;
      };
      socket.once('connect', onConnect);
      socket.on('error', onError);
      socket.once('close', () => {
        socket.removeListener('connect', onConnect);
        socket.removeListener('error', onError);
        this.#place(key, ticket, null);
      });
    };
    return { lookup, watch };
  }

  /**
   * Open connections (and connects in flight) per resolved address of `host`:`port`, as this
   * balancer counts them: what `'least-connections'` compares.
   */
  openConnections(host: string, port: number): ReadonlyMap<string, number> {
    const counts = new Map<string, number>();
    for (const [address, record] of this.#hosts.get(`${host.toLowerCase()}:${port}`) ?? []) counts.set(address, openOn(record));
    return counts;
  }

  #order(key: string, addresses: readonly LookupAddress[], now: number): LookupAddress[] {
    const host = this.#host(key);
    const penaltySince = now - FAILED_ADDRESS_PENALTY_MS;
    const ranked = addresses.map((entry, index) => {
      const record = host.get(entry.address);
      return {
        entry,
        index,
        failed: record !== undefined && record.failedAt > penaltySince ? 1 : 0,
        open: record === undefined ? 0 : openOn(record),
        chosenAt: record?.chosenAt ?? 0,
      };
    });
    ranked.sort((a, b) => a.failed - b.failed || a.open - b.open || a.chosenAt - b.chosenAt || a.index - b.index);
    // Forget what is gone from the answer and holds nothing: the answer is the truth now.
    const answered = new Set(addresses.map((entry) => entry.address));
    for (const [address, record] of host) {
      if (!answered.has(address) && openOn(record) === 0 && record.failedAt <= penaltySince) host.delete(address);
    }
    const first = ranked[0];
    if (first !== undefined) this.#record(host, first.entry.address).chosenAt = ++this.#sequence;
    return ranked.map((rank) => rank.entry);
  }

  /** Moves `ticket` to `address` (null: it leaves, its socket closed). */
  #place(key: string, ticket: Ticket, address: string | null): void {
    if (ticket.address !== null) this.#hosts.get(key)?.get(ticket.address)?.tickets.delete(ticket);
    ticket.address = address;
    // Kept with no ticket (its turn among ties is remembered) until a lookup no longer answers it.
    if (address !== null) this.#record(this.#host(key), address).tickets.add(ticket);
  }

  #fail(key: string, address: string, now: number): void {
    this.#record(this.#host(key), address).failedAt = now;
  }

  /** The host's record, made the most recently used; the least recently used idle ones go past the bound. */
  #host(key: string): HostRecord {
    let host = this.#hosts.get(key);
    if (host === undefined) host = new Map();
    else this.#hosts.delete(key);
    this.#hosts.set(key, host);
    if (this.#hosts.size > MAX_TRACKED_HOSTS) {
      for (const [other, records] of this.#hosts) {
        if (this.#hosts.size <= MAX_TRACKED_HOSTS) break;
        if (other !== key && [...records.values()].every((record) => openOn(record) === 0)) this.#hosts.delete(other);
      }
    }
    return host;
  }

  #record(host: HostRecord, address: string): AddressRecord {
    let record = host.get(address);
    if (record === undefined) {
      record = { tickets: new Set(), failedAt: -Infinity, chosenAt: 0 };
      host.set(address, record);
    }
    return record;
  }
}

/**
 * The connects and connections an address holds now. A socket the pool has just closed is
 * destroyed at once but says 'close' only a turn of the event loop later; it no longer
 * counts (a burst of connections retired together would otherwise send all their successors
 * elsewhere). O(connections to the address), paid per connect, not per request.
 */
function openOn(record: AddressRecord): number {
  let open = 0;
  for (const ticket of record.tickets) if (ticket.socket === null || !ticket.socket.destroyed) open++;
  return open;
}

/** A lookup's answer as a list, whether it gave one (as asked) or a single address. */
function asList(answer: string | LookupAddress[], family: number | undefined): LookupAddress[] {
  if (Array.isArray(answer)) return answer.filter((entry) => typeof entry?.address === 'string' && entry.address !== '');
  if (typeof answer === 'string' && answer !== '') return [{ address: answer, family: family ?? (answer.includes(':') ? 6 : 4) }];
  return [];
}

/** The addresses Node tried for `socket`: Happy Eyeballs records them as `ip:port`; a single attempt does not. */
function attemptedAddresses(socket: Socket, chosen: string | null): string[] {
  const attempted = (socket as Socket & { autoSelectFamilyAttemptedAddresses?: unknown }).autoSelectFamilyAttemptedAddresses;
  if (Array.isArray(attempted) && attempted.length > 0) {
    return attempted
      .filter((entry): entry is string => typeof entry === 'string')
      .map((entry) => entry.slice(0, entry.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1'));
  }
  return chosen === null ? [] : [chosen];
}
