import type { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import type * as net from 'node:net';

/**
 * A host name whose answers the test changes, as a Kubernetes Service's change when pods
 * come and go: a `lookup` for the connector that answers (asynchronously, as DNS does) with
 * the addresses set now, every address when asked for all, the first otherwise.
 */
export class ServiceName {
  #addresses: readonly string[];
  readonly #rotate: boolean;
  /** How many times the name was resolved (once per connect). */
  lookups = 0;

  /**
   * @param rotate - answer each lookup with the addresses rotated by one more (as a DNS
   * server's round-robin does), so that a client that takes the first one spreads too.
   */
  constructor(addresses: readonly string[], options: { rotate?: boolean } = {}) {
    this.#addresses = [...addresses];
    this.#rotate = options.rotate ?? false;
  }

  /** The addresses the name resolves to from now on. */
  set(addresses: readonly string[]): void {
    this.#addresses = [...addresses];
  }

  get addresses(): readonly string[] {
    return this.#addresses;
  }

  readonly lookup: net.LookupFunction = (_hostname, options, callback) => {
    const shift = this.#rotate && this.#addresses.length > 0 ? this.lookups % this.#addresses.length : 0;
    this.lookups++;
    const ordered = [...this.#addresses.slice(shift), ...this.#addresses.slice(0, shift)];
    const answer: LookupAddress[] = ordered.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    setImmediate(() => {
      if (answer.length === 0) {
        callback(Object.assign(new Error('no such name'), { code: 'ENOTFOUND' }), '', 0);
      } else if (options.all) {
        (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, answer);
      } else {
        const first = answer[0] as LookupAddress;
        callback(null, first.address, first.family);
      }
    });
  };
}

/** The loopback addresses the simulated backends listen on (127.0.0.0/8 is all loopback on Linux). */
export const BACKEND_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'] as const;

/**
 * Makes one server per address, all on the same port (as a Service's pods are): the first
 * picks a free port, the others take it; tried again on another port if one is taken.
 */
export async function listenOnSharedPort<S extends net.Server>(addresses: readonly string[], make: () => S): Promise<{ servers: S[]; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const servers: S[] = [];
    let port = 0;
    try {
      for (const address of addresses) {
        const server = make();
        servers.push(server);
        server.listen(port, address);
        await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
        port = (server.address() as net.AddressInfo).port;
      }
      return { servers, port };
    } catch (error) {
      for (const server of servers) if (server.listening) server.close();
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt >= 20) throw error;
    }
  }
}
