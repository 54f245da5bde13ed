import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHttpServer, type HttpTestServer } from '../support/http-servers.js';

// The README's examples (files of examples/, shown word for word: test/docs/doc-snippets.test.ts)
// run here against a real local server, so that they cannot rot.

let upstream: HttpTestServer;

beforeAll(async () => {
  upstream = await startHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  process.env.API_ORIGIN = upstream.origin;
  process.env.ORDERS_API = upstream.origin;
});

afterAll(async () => {
  await upstream.close();
});

describe('README examples', () => {
  it('quick start: three requests over one pooled connection, then a clean close', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    try {
      await import('../../examples/quick-start.js');
    } finally {
      log.mockRestore();
    }
    expect(lines).toContain('/a {"path":"/a"}');
    expect(lines).toContain('/c {"path":"/c"}');
    expect(lines.filter((l) => l.startsWith('connect-start'))).toHaveLength(1);
    const totals = JSON.parse(lines.find((l) => l.startsWith('{"connects"')) ?? '{}') as Record<string, number>;
    expect(totals).toMatchObject({ connects: 1, acquired: 3, reused: 2 });
    expect(lines.at(-1)).toBe('pool-closed ');
    expect(upstream.sockets).toHaveLength(1);
  });

  it('fetch and undici.request through pool.dispatcher(), on one pooled connection', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    const before = upstream.sockets.length;
    try {
      await import('../../examples/fetch.js');
    } finally {
      log.mockRestore();
    }
    expect(lines.slice(0, 2)).toEqual(['200 {"path":"/items/1"}', '200 {"path":"/items/2"}']);
    expect(JSON.parse(lines[2] ?? '{}')).toMatchObject({ connects: 1, acquired: 2, reused: 1 });
    expect(upstream.sockets.length - before).toBe(1);
  });

  it('OpenTelemetry: the pool measured through an SDK MeterProvider', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    try {
      await import('../../examples/opentelemetry.js');
    } finally {
      log.mockRestore();
    }
    // One connection, in use or back in the pool (the example does not wait for its release).
    expect(lines).toHaveLength(2);
    const byState = Object.fromEntries(lines.map((line) => line.split(' ')).map(([address, state, value]) => [state, { address, value: Number(value) }]));
    expect(byState.active?.address).toBe('127.0.0.1');
    expect((byState.active?.value ?? 0) + (byState.idle?.value ?? 0)).toBe(1);
  });

  it('diagnostics_channel: a subscriber of reactive-connection-pool:connection-closed sees the close', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    try {
      await import('../../examples/diagnostics-channel.js');
    } finally {
      log.mockRestore();
    }
    // The dispatcher keeps its connections apart (a partition): their address carries a fingerprint (base64url).
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^closed ${upstream.origin.replace(/[.]/g, '\\.')}(#[\\w-]+)? pool-closed$`))]);
  });

  it('Nest app: HttpModule over the pool, probes and the event stream', async () => {
    const { AppModule } = await import('../../examples/nest-app.js');
    const app: INestApplication = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    try {
      const server = app.getHttpServer();
      await request(server).get('/orders').expect(200, { path: '/orders' });
      await request(server).get('/orders').expect(200);
      await request(server).get('/health/live').expect(200);
      const ready = await request(server).get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({ status: 'ok', info: { pool: { status: 'up' } } });
    } finally {
      await app.close();
    }
  });
});
