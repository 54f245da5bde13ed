import type { Address, Connector, Transport } from '../../../src/pool/index.js';

/** A transport that records how it was treated, and can be made to fail or close. */
export class FakeTransport implements Transport {
  closeCalls = 0;
  healthy = true;
  allocationLimit: number | undefined;
  readonly #closeListeners = new Set<() => void>();

  constructor(
    readonly address: Address,
    readonly serial: number,
  ) {}

  close(): void {
    this.closeCalls++;
    this.#fireClose();
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  on(_event: 'close', listener: () => void): void {
    this.#closeListeners.add(listener);
  }

  off(_event: 'close', listener: () => void): void {
    this.#closeListeners.delete(listener);
  }

  /** The peer hangs up: listeners hear 'close' (the pool has not called close()). */
  peerClose(): void {
    this.#fireClose();
  }

  get listenerCount(): number {
    return this.#closeListeners.size;
  }

  #fireClose(): void {
    for (const listener of [...this.#closeListeners]) listener();
  }
}

/** One connect the test controls by hand (see {@link FakeConnector.manual}). */
export interface PendingConnect {
  readonly address: Address;
  readonly signal: AbortSignal;
  succeed(): FakeTransport;
  fail(error: Error): void;
}

/**
 * A connector for engine tests. By default every connect succeeds on the next microtask;
 * `failNext` makes connects fail; `manual` keeps them pending until the test settles them.
 */
export class FakeConnector implements Connector {
  readonly transports: FakeTransport[] = [];
  readonly pending: PendingConnect[] = [];
  readonly connectCalls: Address[] = [];
  manual = false;
  #failures: Error[] = [];

  failNext(error: Error, times = 1): void {
    for (let i = 0; i < times; i++) this.#failures.push(error);
  }

  connect(address: Address, { signal }: { signal: AbortSignal }): Promise<Transport> {
    this.connectCalls.push(address);
    const failure = this.#failures.shift();
    if (failure) return Promise.reject(failure);
    if (!this.manual) return Promise.resolve(this.#make(address));
    return new Promise<Transport>((resolve, reject) => {
      const pending: PendingConnect = {
        address,
        signal,
        succeed: () => {
          const transport = this.#make(address);
          resolve(transport);
          return transport;
        },
        fail: reject,
      };
      this.pending.push(pending);
    });
  }

  #make(address: Address): FakeTransport {
    const transport = new FakeTransport(address, this.transports.length + 1);
    this.transports.push(transport);
    return transport;
  }
}

/** Lets promise callbacks (connects, acquires) run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
