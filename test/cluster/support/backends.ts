import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { EventOrder } from './event-order.js';

const WORKER = new URL('./backend-fleet.worker.mjs', import.meta.url);

/** A connection a backend closed, and when (a number of the fleet's {@link EventOrder}). */
export interface ConnectionClose {
  /** The backend's address, then the client's address and port: `127.0.0.2 127.0.0.1:40000`. */
  readonly connection: string;
  readonly at: number;
}

/**
 * The backends of a simulated Service: one HTTP/1.1 server per loopback address, all on one
 * port (as a Service's pods), each answering every request with its address so that clients
 * can tell who served them. They run in a worker thread, with an event loop of their own as a
 * pod's server has: a server sharing the test's loop would see every client write in an order
 * no network gives.
 */
export class BackendFleet {
  readonly port: number;
  readonly addresses: readonly string[];
  /**
   * The order of events the backends record their closes in ({@link closes}), shared with
   * this thread: a client takes a number from it to place its own events among the closes.
   */
  readonly order: EventOrder;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  private constructor(worker: Worker, port: number, addresses: readonly string[], order: EventOrder) {
    this.#worker = worker;
    this.order = order;
    this.port = port;
    this.addresses = addresses;
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message.result);
    });
  }

  /** Starts backends on every one of `addresses`, on one free port. */
  static async start(addresses: readonly string[]): Promise<BackendFleet> {
    const order = new EventOrder();
    const worker = new Worker(WORKER, { workerData: { addresses, order: order.buffer } });
    const [message] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error as Error))])) as [
      { ready: number },
    ];
    return new BackendFleet(worker, message.ready, addresses, order);
  }

  /**
   * Stops the backend on `address` as a server stops at a rolling restart (Go's `Shutdown`):
   * once no connection is waiting for its first request, it accepts no new connection, closes
   * idle ones at once and busy ones as soon as their response is out. A request a client sends
   * on a connection just as it closes is lost to that client, unless it sends it again.
   * Resolves, once every connection is closed, with how many there were.
   */
  stop(address: string): Promise<number> {
    return this.#call('stop', address) as Promise<number>;
  }

  /** Starts the backend on `address` again, on the same port (the new pod). */
  async restart(address: string): Promise<void> {
    await this.#call('restart', address);
  }

  /** Every connection the backends closed so far (and those their clients closed first), in order. */
  closes(): Promise<ConnectionClose[]> {
    return this.#call('closes') as Promise<ConnectionClose[]>;
  }

  /** Closes every connection and server, and the thread. */
  async close(): Promise<void> {
    await this.#call('close');
    await this.#worker.terminate();
  }

  #call(command: string, address?: string): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, command, address });
    });
  }
}
