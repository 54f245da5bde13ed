import type { LoggerService } from '@nestjs/common';
import type { AppLifecycle } from './app-lifecycle.js';
import type { InFlightRequests } from './in-flight-requests.js';

/** What a graceful shutdown acts on (a started service). */
export interface Drainable {
  readonly lifecycle: AppLifecycle;
  readonly inFlight: InFlightRequests;
  readonly pool: { close(options?: { timeout?: number }): Promise<void> };
  /** Closes the HTTP server (ending event streams first) and whatever else the service runs. */
  close(): Promise<void>;
  /** Cuts every connection the HTTP server still has. */
  cutConnections(): void;
}

/** Options of {@link GracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** The whole budget, from the signal to the exit (`DRAIN_TIMEOUT`). */
  readonly drainTimeoutMs: number;
  readonly logger: LoggerService;
}

/** Exit codes of a shutdown. */
export const SHUTDOWN_EXIT_CODES = {
  /** Everything in flight finished within the drain timeout. */
  drained: 0,
  /** The drain timed out: requests still in flight were cut. */
  cut: 1,
} as const;

/**
 * SIGTERM (what Kubernetes sends, after the preStop hook) and SIGINT (Ctrl+C) stop the service
 * without failing a request:
 *
 * 1. readiness answers 503 at once (the listener stays open, so that probes and late requests
 *    get an answer rather than a refused connection; responses say `Connection: close`);
 * 2. the proxied requests in flight are waited for;
 * 3. the pool closes (its leases are all back by then), so its connections close cleanly;
 * 4. event streams end, the HTTP server closes, the process exits 0.
 *
 * All within `DRAIN_TIMEOUT`: past it, what is still in flight is cut and the exit code is 1.
 * A second signal exits at once.
 */
export class GracefulShutdown {
  readonly #service: Drainable;
  readonly #options: GracefulShutdownOptions;
  #running: Promise<number> | null = null;

  constructor(service: Drainable, options: GracefulShutdownOptions) {
    this.#service = service;
    this.#options = options;
  }

  /** Handles SIGTERM and SIGINT: the first one drains, a second one exits at once. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.#running !== null) {
        this.#options.logger.warn(`${signal} received again: exiting now, without waiting for the drain.`, 'Shutdown');
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      }
      this.shutdown(`${signal} received`).then(
        (code) => {
          process.exitCode = code;
          // Whatever might still hold the event loop (a client that never reads) must not keep
          // the process past its grace period; the timer itself holds nothing.
          setTimeout(() => process.exit(code), 1_000).unref();
        },
        (error: unknown) => {
          this.#options.logger.error(`The shutdown failed: ${error instanceof Error ? error.message : String(error)}`, undefined, 'Shutdown');
          process.exit(SHUTDOWN_EXIT_CODES.cut);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  /** Drains and closes the service; resolves with the exit code. Calling it again returns the same promise. */
  shutdown(reason: string): Promise<number> {
    this.#running ??= this.#run(reason);
    return this.#running;
  }

  async #run(reason: string): Promise<number> {
    const { logger, drainTimeoutMs } = this.#options;
    const { lifecycle, inFlight, pool } = this.#service;
    const deadline = Date.now() + drainTimeoutMs;
    const remaining = (): number => Math.max(0, deadline - Date.now());

    lifecycle.beginDrain(reason);
    logger.log(
      `${reason}: draining. Readiness now fails; waiting for ${inFlight.count} request(s) in flight (at most ${drainTimeoutMs} ms).`,
      'Shutdown',
    );
    const drained = await inFlight.whenIdle(remaining());
    if (!drained) {
      logger.warn(`The drain timed out (DRAIN_TIMEOUT ${drainTimeoutMs} ms): cutting ${inFlight.count} request(s) still in flight.`, 'Shutdown');
    }
    // Closed here rather than in Nest's shutdown hooks: the event streams still run and show it.
    await pool.close({ timeout: Math.max(1, remaining()) });
    const closed = await settlesWithin(this.#service.close(), Math.max(1, remaining()));
    if (!closed) {
      this.#service.cutConnections();
      await settlesWithin(this.#service.close(), 1_000);
    }
    lifecycle.markStopped();
    const code = drained && closed ? SHUTDOWN_EXIT_CODES.drained : SHUTDOWN_EXIT_CODES.cut;
    logger.log(code === 0 ? 'Drained: every request finished, the pool is closed. Bye.' : 'Stopped after cutting what was left.', 'Shutdown');
    return code;
  }
}

/** Whether `promise` settles within `ms` (its failure counts as settled: the shutdown goes on). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
