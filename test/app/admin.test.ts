import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, stopTestServices } from './support/test-service.js';

const TOKEN = 'test-admin-token-0123456789';

afterEach(stopTestServices);

describe('DELETE /pool/connections/:id (the admin API)', () => {
  it('is disabled without ADMIN_TOKEN: 403 saying how to enable it, and nothing is evicted', async () => {
    const service = await startTestService();
    await service.fetch('/proxy/echo');
    const [connection] = service.pool.connections();
    const response = await service.fetch(`/pool/connections/${connection?.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(403);
    expect(response.json<{ message: string }>().message).toContain('set (16 characters or more) to enable it');
    expect(response.json<{ message: string }>().message).toContain('ADMIN_TOKEN');
    expect(service.pool.connectionCount()).toBe(1);
    expect((await service.poolSnapshot()).admin.enabled).toBe(false);
  });

  it('refuses a request without the token, or with a wrong one (401, WWW-Authenticate: Bearer)', async () => {
    const service = await startTestService({ ADMIN_TOKEN: TOKEN });
    await service.fetch('/proxy/echo');
    const id = service.pool.connections()[0]?.id as string;
    for (const authorization of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      const response = await service.fetch(`/pool/connections/${id}`, { method: 'DELETE', headers: authorization === undefined ? {} : { authorization } });
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
      // The answer never echoes the configured token.
      expect(response.text).not.toContain(TOKEN);
    }
    expect(service.pool.connections().map((c) => c.id)).toEqual([id]);
  });

  it('evicts the connection with the right token: an idle one closes at once, with reason "evicted"', async () => {
    const service = await startTestService({ ADMIN_TOKEN: TOKEN });
    await service.fetch('/proxy/echo');
    const id = service.pool.connections()[0]?.id as string;
    const closed: string[] = [];
    service.pool.events$.subscribe((event) => event.type === 'connection-closed' && closed.push(`${event.connectionId}:${event.reason}`));
    const response = await service.fetch(`/pool/connections/${id}`, { method: 'DELETE', headers: { authorization: `bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ id, evicted: true, closesWhenReleased: false });
    expect(closed).toEqual([`${id}:evicted`]);
    expect(service.pool.connectionCount()).toBe(0);
    expect((await service.poolSnapshot()).admin.enabled).toBe(true);
  });

  it('answers 404 for a connection that is not in the pool', async () => {
    const service = await startTestService({ ADMIN_TOKEN: TOKEN });
    const response = await service.fetch('/pool/connections/c999', { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(response.json<{ message: string }>().message).toContain('No connection "c999"');
  });
});
