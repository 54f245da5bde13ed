import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../../src/http/index.js';
import { testCerts } from '../support/certs.js';
import { startHttp2Server } from '../support/http2-servers.js';
import { waitFor } from '../support/wait-for.js';

const certs = testCerts();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

describe('an HTTP/2 request whose body is cut short', () => {
  it('is reset, never ended: the server does not take the part it got for a whole request', async () => {
    const seen: Array<{ ended: boolean; bytes: number; rstCode: number | undefined }> = [];
    const server = await startHttp2Server((stream) => {
      let bytes = 0;
      let ended = false;
      stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      // Node ends the readable side of a reset stream too: what tells them apart is the code.
      stream.on('end', () => (ended = stream.rstCode === undefined || stream.rstCode === 0));
      stream.on('close', () => seen.push({ ended, bytes, rstCode: stream.rstCode }));
    });
    cleanups.push(() => server.close());
    const pool = new ConnectionPool({ drainTimeout: '1s' });
    cleanups.push(() => pool.close());
    const dispatcher = pool.dispatcher({ http2: 'always', tls: { ca: certs.ca.cert } });

    const body = new PassThrough();
    const pending = request(`${server.origin}/upload`, { method: 'POST', body, dispatcher }).catch((error: unknown) => error);
    body.write('partial');
    await waitFor(() => server.streams.length === 1, 'the stream to reach the server');
    // The body's source fails half-way (as a client's request that Node's parser refused).
    body.destroy(new Error('the source of the body failed'));
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(() => seen.length === 1, 'the stream to close on the server');
    expect(seen[0]?.ended).toBe(false);
    expect(seen[0]?.rstCode).not.toBe(0);
  });

  it('a body sent whole, then a cancel while waiting for the answer, is closed as before (CANCEL)', async () => {
    const codes: Array<number | undefined> = [];
    const server = await startHttp2Server((stream) => {
      stream.resume();
      stream.on('close', () => codes.push(stream.rstCode));
    });
    cleanups.push(() => server.close());
    const pool = new ConnectionPool({ drainTimeout: '1s' });
    cleanups.push(() => pool.close());
    const dispatcher = pool.dispatcher({ http2: 'always', tls: { ca: certs.ca.cert } });
    const controller = new AbortController();
    const pending = request(`${server.origin}/wait`, { method: 'POST', body: 'whole', dispatcher, signal: controller.signal }).catch((error: unknown) => error);
    await waitFor(() => server.streams.length === 1, 'the stream to reach the server');
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(() => codes.length === 1, 'the stream to close on the server');
    expect(codes[0]).toBe(8);
  });
});
