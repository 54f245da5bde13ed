import { createServer, type AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtServiceEntry } from './support/built-service.js';
import { request } from './support/http-client.js';
import { ServiceProcess } from './support/service-process.js';
import { waitFor } from '../support/wait-for.js';

// The service as `npm start` runs it: the build output, in its own process, with real signals.
let entry: string;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  entry = await builtServiceEntry();
}, 120_000);

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});

function start(env: Record<string, string>): ServiceProcess {
  const service = ServiceProcess.start(entry, env);
  processes.push(service);
  return service;
}

// Each test boots one or two service processes: on a loaded machine that alone takes seconds.
describe('the service process (npm start)', { timeout: 120_000 }, () => {
  it('starts on its embedded defaults, prints the URLs to open, and every one of them answers', async () => {
    const service = start({ PORT: '0' });
    const base = await service.baseUrl();
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const urls = [...service.stdout.matchAll(/http:\/\/127\.0\.0\.1:\d+\/[^\s]*/g)].map((m) => m[0]).filter((url) => url.startsWith(base));
    expect(urls).toEqual(
      expect.arrayContaining([`${base}/`, `${base}/proxy/echo`, `${base}/pool`, `${base}/pool/events`, `${base}/metrics`, `${base}/health/live`]),
    );
    expect(service.stdout).toContain('/health/ready');
    expect(service.stdout).toContain('/health/startup');
    expect(service.stdout).toMatch(/Upstream TLS\s+https:\/\/127\.0\.0\.1:\d+/);

    for (const path of ['/', '/proxy/echo', '/pool', '/metrics', '/health/live', '/health/ready', '/health/startup']) {
      expect((await request(`${base}${path}`)).status, path).toBe(200);
    }
    // The build output carries the dashboard's files (tsc does not copy them).
    const page = await request(`${base}/`);
    expect(page.text).toContain('/dashboard/dashboard.js');
    expect((await request(`${base}/dashboard/dashboard.js`)).text).toContain('EventSource');
    service.signal('SIGTERM');
    expect(await service.exit()).toEqual({ code: 0, signal: null });
  });

  it('drains on SIGTERM: readiness answers 503 at once, the request in flight completes, the pool closes, exit 0 within DRAIN_TIMEOUT', async () => {
    const service = start({ PORT: '0', DRAIN_TIMEOUT: '5s' });
    const base = await service.baseUrl();
    const inFlight = request(`${base}/proxy/delay/1000`);
    await waitFor(async () => (await request(`${base}/pool`)).json<{ stats: { inUse: number } }>().stats.inUse === 1, 'the request to be in flight');

    service.signal('SIGTERM');
    await service.waitForOutput(/SIGTERM received: draining/);
    const ready = await request(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('shutting down');
    expect((await request(`${base}/health/live`)).status).toBe(200);

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ delayedMs: 1000 });
    // Exit 0 is the drain finishing before DRAIN_TIMEOUT: past it, the service cuts and exits 1
    // (next test). Not a wall-clock check: on a loaded machine that would measure the machine.
    expect(await service.exit()).toEqual({ code: 0, signal: null });
    expect(service.stdout).toContain('Drained: every request finished, the pool is closed.');
    expect(service.stderr).toBe('');
  });

  it('cuts what is still in flight when DRAIN_TIMEOUT passes, and exits 1', async () => {
    const service = start({ PORT: '0', DRAIN_TIMEOUT: '300ms' });
    const base = await service.baseUrl();
    const inFlight = request(`${base}/proxy/delay/30000`).then(
      (response) => response.status,
      (error: Error) => error.message,
    );
    await waitFor(async () => (await request(`${base}/pool`)).json<{ stats: { inUse: number } }>().stats.inUse === 1, 'the request to be in flight');
    service.signal('SIGTERM');
    expect(await service.exit()).toEqual({ code: 1, signal: null });
    expect(service.stdout).toContain('The drain timed out (DRAIN_TIMEOUT 300 ms): cutting 1 request(s) still in flight.');
    expect(await inFlight).not.toBe(200);
  });

  it('refuses a bad configuration at boot: exit 78 and a message naming the variable and the value, no stack', async () => {
    const service = start({ PORT: '0', POOL_MAX_IDLE: 'lots', UPSTREAM_TIMEOUT: '5 minutes' });
    expect(await service.exit()).toEqual({ code: 78, signal: null });
    expect(service.stderr).toContain('POOL_MAX_IDLE="lots": expected an integer >= 0. Default: 256.');
    expect(service.stderr).toContain('UPSTREAM_TIMEOUT="5 minutes": expected a positive duration');
    expect(service.stderr).not.toMatch(/^\s+at /m);
    expect(service.stdout).toBe('');
  });

  it('never prints the ADMIN_TOKEN: not when refusing it, not while running', async () => {
    const weak = 'tooshort';
    const refused = start({ PORT: '0', ADMIN_TOKEN: weak });
    expect((await refused.exit()).code).toBe(78);
    expect(refused.stderr).toContain('ADMIN_TOKEN=(hidden, 8 characters)');
    expect(refused.output).not.toContain(weak);

    const token = 'a-long-enough-admin-token-42';
    const running = start({ PORT: '0', ADMIN_TOKEN: token, LOG_LEVEL: 'debug' });
    const base = await running.baseUrl();
    await request(`${base}/proxy/echo`, { headers: { authorization: `Bearer ${token}` } });
    const id = (await request(`${base}/pool`)).json<{ connections: Array<{ id: string }> }>().connections[0]?.id;
    expect((await request(`${base}/pool/connections/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    running.signal('SIGTERM');
    expect((await running.exit()).code).toBe(0);
    expect(running.output).toContain('Admin API on');
    expect(running.output).not.toContain(token);
  });

  it('logs one JSON object per line with LOG_FORMAT=json', async () => {
    const service = start({ PORT: '0', LOG_FORMAT: 'json', POOL_KEEPALIVE: '1s' });
    await service.waitForOutput(/"message":"listening"/);
    service.signal('SIGINT');
    expect((await service.exit()).code).toBe(0);
    const lines = service.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(service.stdout).toContain('POOL_KEEPALIVE is not a variable this service reads (did you mean POOL_KEEP_ALIVE?)');
  });

  it('says which port is taken, and how to choose another, when it cannot listen', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const service = start({ PORT: String(port) });
      expect((await service.exit()).code).toBe(1);
      expect(service.output).toContain(`Cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`);
      expect(service.output).toContain(`PORT=${port + 1} npm start`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
