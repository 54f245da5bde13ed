import { Injectable } from '@nestjs/common';

/** Where the service is in its life. */
export type LifecyclePhase = 'starting' | 'serving' | 'draining' | 'stopped';

/**
 * The service's phase, which the probes report: `/health/startup` fails until `serving`;
 * `/health/ready` fails from `draining` on (at once when SIGTERM arrives, so that the load
 * balancer stops sending traffic while requests in flight finish).
 */
@Injectable()
export class AppLifecycle {
  #phase: LifecyclePhase = 'starting';
  #reason: string | undefined;

  get phase(): LifecyclePhase {
    return this.#phase;
  }

  /** Why the service is draining (e.g. `'SIGTERM received'`), once it is. */
  get reason(): string | undefined {
    return this.#reason;
  }

  get started(): boolean {
    return this.#phase !== 'starting';
  }

  get draining(): boolean {
    return this.#phase === 'draining' || this.#phase === 'stopped';
  }

  /** The HTTP server listens and everything is wired: traffic may come. */
  markServing(): void {
    if (this.#phase === 'starting') this.#phase = 'serving';
  }

  /** Readiness fails from now on. */
  beginDrain(reason: string): void {
    if (this.draining) return;
    this.#phase = 'draining';
    this.#reason = reason;
  }

  markStopped(): void {
    this.#phase = 'stopped';
  }
}
