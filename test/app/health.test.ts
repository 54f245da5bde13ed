import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices } from './support/test-service.js';
import { VirtualClock } from './support/virtual-clock.js';
import { waitFor } from '../support/wait-for.js';

afterEach(stopTestServices);

interface Health {
  readonly status: string;
  readonly error: Record<string, { status: string; message?: string; reasons?: string[] }>;
  readonly info: Record<string, { status: string }>;
}

describe('the probes', () => {
  it('answer 200 on a running service: liveness (pool machinery), readiness (lifecycle and pool), startup', async () => {
    const service = await startTestService();
    const live = await service.fetch('/health/live');
    const ready = await service.fetch('/health/ready');
    const startup = await service.fetch('/health/startup');
    expect([live.status, ready.status, startup.status]).toEqual([200, 200, 200]);
    expect(Object.keys(live.json<Health>().info)).toEqual(['pool']);
    expect(Object.keys(ready.json<Health>().info)).toEqual(['lifecycle', 'pool']);
    expect(startup.json<Health>().info.startup?.status).toBe('up');
  });

  it('readiness fails at once when a drain begins, while liveness and startup still pass; responses say Connection: close', async () => {
    const service = await startTestService();
    service.lifecycle.beginDrain('SIGTERM received');
    const ready = await service.fetch('/health/ready', { headers: { connection: 'keep-alive' } });
    expect(ready.status).toBe(503);
    expect(ready.json<Health>().error.lifecycle?.message).toContain('shutting down (SIGTERM received)');
    expect(ready.headers.connection).toBe('close');
    expect((await service.fetch('/health/live')).status).toBe(200);
    expect((await service.fetch('/health/startup')).status).toBe(200);
    // Requests still get served while draining.
    expect((await service.fetch('/proxy/echo')).status).toBe(200);
  });

  it('readiness reports an unreachable upstream after 3 failed connects in a row; liveness does not', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const service = await startTestService({ UPSTREAM_URL: `http://127.0.0.1:${port}` });

    for (let failures = 1; failures <= 3; failures++) {
      expect((await service.fetch('/proxy/x')).status).toBe(502);
      const ready = await service.fetch('/health/ready');
      expect(ready.status, `after ${failures} failure(s)`).toBe(failures < 3 ? 200 : 503);
    }
    const ready = (await service.fetch('/health/ready')).json<Health>();
    expect(ready.error.pool?.reasons?.[0]).toContain(`http://127.0.0.1:${port} is unreachable`);
    expect((await service.fetch('/health/live')).status).toBe(200);
  });

  it('readiness declares only the upstream critical: another address that fails leaves it 200, degraded', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const service = await startTestService();
    expect((await service.fetch('/proxy/echo')).status).toBe(200);
    // Something else in the app uses the pool for a host that is down.
    for (let i = 0; i < 3; i++) await expect(service.pool.acquire(`tcp://127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const ready = await service.fetch('/health/ready');
    expect(ready.status).toBe(200);
    const pool = ready.json<{ status: string; info: Record<string, { status: string; reasons?: string[]; criticalAddresses?: string[] }> }>();
    expect(pool.status).toBe('degraded');
    expect(pool.info.pool?.status).toBe('degraded');
    expect(pool.info.pool?.reasons?.[0]).toContain(`tcp://127.0.0.1:${port} is unreachable`);
    expect(pool.info.pool?.criticalAddresses).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)]);
    expect((await service.fetch('/proxy/echo')).status).toBe(200);
  });

  it('liveness fails only when the cleanup stream stalls past its grace (virtual time)', async () => {
    const clock = new VirtualClock();
    const service = await startTestService({ POOL_KEEP_ALIVE: '10s' }, { scheduler: clock.scheduler });
    await service.fetch('/proxy/echo');
    await waitFor(() => service.pool.stats().cleanup.nextTickAt !== null, 'the cleanup stream to schedule its next tick');
    // A clock that jumps without the tick running: what a stalled timer looks like.
    clock.scheduler.frame = clock.now + 10_000 + 30_001;
    expect((await service.fetch('/health/live')).status).toBe(503);
    clock.advanceBy(0);
    expect((await service.fetch('/health/live')).status).toBe(200);
  });
});
