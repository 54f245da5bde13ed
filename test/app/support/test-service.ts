import type { SchedulerLike } from 'rxjs';
import { loadAppConfig } from '../../../src/app/config/app-config.js';
import { startService, type StartedService } from '../../../src/app/service.js';
import { request, type HttpResult, type RequestOptions } from './http-client.js';

/** A service started in the test's process, with helpers to talk to it. */
export interface TestService extends StartedService {
  /** A request to a path of the service (`/pool`, `/proxy/echo`, ...). */
  fetch(path: string, options?: RequestOptions): Promise<HttpResult>;
  /** `GET /pool`, parsed. */
  poolSnapshot(): Promise<PoolSnapshotJson>;
}

/** What the tests read of `GET /pool`. */
export interface PoolSnapshotJson {
  readonly now: number;
  readonly phase: string;
  readonly upstream: { readonly url: string; readonly embedded: boolean; readonly protocol: string };
  readonly stats: {
    readonly connections: number;
    readonly idle: number;
    readonly inUse: number;
    readonly totals: { readonly connects: number; readonly acquired: number; readonly reused: number; readonly closed: number };
  };
  readonly connections: ReadonlyArray<{ readonly id: string; readonly state: string; readonly address: string }>;
  readonly streams: { readonly events: string; readonly cleanupTicks: string };
  readonly admin: { readonly enabled: boolean };
}

const started = new Set<TestService>();

/**
 * Starts the service on a free loopback port with `env` (as the process would read it; PORT
 * defaults to 0), quiet, optionally on a virtual clock. {@link stopTestServices} closes them.
 */
export async function startTestService(env: Record<string, string> = {}, options: { scheduler?: SchedulerLike } = {}): Promise<TestService> {
  const config = loadAppConfig({ PORT: '0', LOG_LEVEL: 'error', ...env });
  const service = await startService(config, { logger: false, scheduler: options.scheduler });
  const test: TestService = Object.assign(service, {
    fetch: (path: string, requestOptions?: RequestOptions) => request(`${service.url}${path}`, requestOptions),
    poolSnapshot: async () => (await request(`${service.url}/pool`)).json<PoolSnapshotJson>(),
  });
  started.add(test);
  return test;
}

/** Closes every service started by {@link startTestService} (for afterEach). */
export async function stopTestServices(): Promise<void> {
  const services = [...started];
  started.clear();
  await Promise.all(services.map((service) => service.close()));
}
