import { Injectable, Logger } from '@nestjs/common';

/**
 * Terminus's logger: a failed check is logged as a warning, not an error. A probe that fails
 * reports a state (draining after SIGTERM, an unreachable upstream) the probe itself acts on;
 * the service has not failed, and error-level alerts should not fire on every rollout.
 */
@Injectable()
export class HealthCheckLogger extends Logger {
  constructor() {
    super('HealthCheck');
  }

  override error(message: unknown): void {
    this.warn(message);
  }
}
