import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { AppLifecycle } from '../lifecycle/app-lifecycle.js';

/** Terminus checks of the service's own phase (see {@link AppLifecycle}). */
@Injectable()
export class LifecycleHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: AppLifecycle,
  ) {}

  /** Down from the moment a drain begins (SIGTERM), so that no new traffic is routed here. */
  isServing<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    const { phase, reason } = this.lifecycle;
    if (this.lifecycle.draining) return session.down({ phase, message: `the service is shutting down (${reason ?? 'stopped'}): requests in flight finish, new ones should go elsewhere` });
    if (!this.lifecycle.started) return session.down({ phase, message: 'the service is starting' });
    return session.up({ phase });
  }

  /** Up once the service has started (it stays up while draining: startup is over). */
  isStarted<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const session = this.indicators.check(key);
    const { phase } = this.lifecycle;
    return this.lifecycle.started ? session.up({ phase }) : session.down({ phase, message: 'the service is starting' });
  }
}
