import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestBodyWriter } from '../../src/app/upstream/h1/request-body-writer.js';
import { H1ResponseBody, type BodySource } from '../../src/app/upstream/h1/response-body.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Backpressure through the HTTP/1.1 client's two body paths, over real sockets whose reader
 * stops reading: the side that cannot keep up pauses the other, and resumes it once it drains.
 */

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

/** What the body asked of its source, in order. */
class RecordingSource implements BodySource {
  readonly calls: string[] = [];
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
  abandon(): void {
    this.calls.push('abandon');
  }
}

/** A server whose one response is handed to the test, and a raw client that reads it only when told. */
async function responseToASlowClient(): Promise<{ response: http.ServerResponse; client: net.Socket; received: () => Buffer }> {
  let handed: (response: http.ServerResponse) => void = () => undefined;
  const responseReady = new Promise<http.ServerResponse>((resolve) => (handed = resolve));
  const server = http.createServer((_req, res) => handed(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  closers.push(() => {
    client.destroy();
    server.closeAllConnections();
    server.close();
  });
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.pause();
  client.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
  const response = await responseReady;
  return { response, client, received: () => Buffer.concat(chunks) };
}

describe('H1ResponseBody', () => {
  it('holds what comes before pipe() (a flush writes nothing yet) and writes it with the end in one call; held past 64 KiB, it pauses the upstream', async () => {
    const { response, client, received } = await responseToASlowClient();
    const source = new RecordingSource();
    const body = new H1ResponseBody(source);
    body.push(Buffer.alloc(40 * 1024, 'a'));
    body.flush();
    expect(source.calls).toEqual([]);
    body.push(Buffer.alloc(40 * 1024, 'b'));
    expect(source.calls).toEqual(['pause']);
    body.end();
    response.writeHead(200, { 'content-length': 80 * 1024 });
    body.pipe(response);
    expect(response.writableEnded).toBe(true);
    client.resume();
    await waitFor(() => received().length >= 80 * 1024, 'the whole body at the client');
    const text = received().toString('latin1');
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toBe('a'.repeat(40 * 1024) + 'b'.repeat(40 * 1024));
  });

  it('pauses the upstream when the response cannot take more, resumes it on drain, ends the response at the end', async () => {
    const { response, client, received } = await responseToASlowClient();
    const source = new RecordingSource();
    const body = new H1ResponseBody(source);
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    body.pipe(response);
    let pushed = 0;
    // The client reads nothing: the response's buffer fills, and the body says pause. Each
    // read of the connection is a push of what it brought, then a flush.
    while (!source.calls.includes('pause')) {
      body.push(Buffer.alloc(32 * 1024, 'x'));
      body.push(Buffer.alloc(32 * 1024, 'y'));
      body.flush();
      pushed += 64 * 1024;
      expect(pushed).toBeLessThan(256 * 1024 * 1024);
    }
    expect(source.calls.at(-1)).toBe('pause');
    expect(source.calls.filter((call) => call === 'pause')).toHaveLength(1);
    client.resume();
    await waitFor(() => source.calls.at(-1) === 'resume', 'the body to resume its source on drain');
    body.end();
    expect(response.writableEnded).toBe(false);
    body.flush();
    await once(response, 'finish');
    await waitFor(() => received().toString('latin1').endsWith('0\r\n\r\n'), 'the chunked end at the client');
    expect(body.readableEnded).toBe(true);
  });

  it('destroy() before the end abandons the source once; after the end it does nothing; fail() reaches the error listener once', () => {
    const source = new RecordingSource();
    const body = new H1ResponseBody(source);
    const errors: string[] = [];
    body.on('error', (error) => errors.push(error.message));
    body.fail(new Error('cut'));
    body.fail(new Error('again'));
    expect(errors).toEqual(['cut']);
    body.destroy();
    body.destroy();
    expect(source.calls).toEqual(['abandon']);

    const ended = new H1ResponseBody(source);
    ended.end();
    ended.destroy();
    expect(source.calls).toEqual(['abandon']);
  });
});

describe('RequestBodyWriter', () => {
  /** A server that reads nothing until told, and what it has read. */
  async function slowUpstream(): Promise<{ socket: net.Socket; readAll: () => Promise<Buffer>; startReading: () => void }> {
    let accepted: (socket: net.Socket) => void = () => undefined;
    const serverSide = new Promise<net.Socket>((resolve) => (accepted = resolve));
    const server = net.createServer((socket) => {
      socket.pause();
      accepted(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const peer = await serverSide;
    closers.push(() => {
      socket.destroy();
      peer.destroy();
      server.close();
    });
    const chunks: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => chunks.push(chunk));
    return {
      socket,
      startReading: () => peer.resume(),
      readAll: async () => {
        await once(peer, 'end');
        return Buffer.concat(chunks);
      },
    };
  }

  it('frames a body of unknown length as chunks, pauses the body while the connection is full, and ends with the last chunk', async () => {
    const { socket, startReading, readAll } = await slowUpstream();
    const body = new PassThrough();
    const writer = new RequestBodyWriter('POST /up HTTP/1.1\r\n\r\n', body, socket, { kind: 'chunked' });
    expect(writer.headWritten).toBe(false);
    writer.start();
    const piece = Buffer.alloc(256 * 1024, 'p');
    let written = 0;
    // Nobody reads the connection: the writer pauses the body once the socket is full.
    while (!body.isPaused()) {
      body.write(piece);
      written += piece.length;
      await new Promise((resolve) => setImmediate(resolve));
      expect(written).toBeLessThan(512 * 1024 * 1024);
    }
    body.write(Buffer.alloc(0));
    body.end(Buffer.from('tail'));
    startReading();
    await waitFor(() => writer.done, 'the body to be sent whole');
    socket.end();
    const bytes = (await readAll()).toString('latin1');
    const expected = 'POST /up HTTP/1.1\r\n\r\n' + `${'40000\r\n' + 'p'.repeat(256 * 1024) + '\r\n'}`.repeat(written / piece.length) + '4\r\ntail\r\n0\r\n\r\n';
    expect(bytes.length).toBe(expected.length);
    expect(bytes === expected).toBe(true);
  });

  it('writes a Content-Length body as it is, after its head; stop() detaches it and leaves it unfinished', async () => {
    const { socket, startReading, readAll } = await slowUpstream();
    const body = new PassThrough();
    const writer = new RequestBodyWriter('PUT / HTTP/1.1\r\ncontent-length: 10\r\n\r\n', body, socket, { kind: 'length', length: 10 });
    writer.start();
    body.write('hello');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.headWritten).toBe(true);
    writer.stop();
    body.end('world');
    expect(writer.done).toBe(false);
    startReading();
    socket.end();
    expect((await readAll()).toString()).toBe('PUT / HTTP/1.1\r\ncontent-length: 10\r\n\r\nhello');
  });

  it('sends the head alone when the body ends with nothing in it (and the last chunk, chunked)', async () => {
    for (const framing of [{ kind: 'chunked' }, { kind: 'length', length: 0 }] as const) {
      const { socket, startReading, readAll } = await slowUpstream();
      const body = new PassThrough();
      const writer = new RequestBodyWriter('POST / HTTP/1.1\r\n\r\n', body, socket, framing);
      writer.start();
      body.end(Buffer.alloc(0));
      await once(body, 'end');
      expect(writer.done).toBe(true);
      startReading();
      socket.end();
      expect((await readAll()).toString()).toBe(framing.kind === 'chunked' ? 'POST / HTTP/1.1\r\n\r\n0\r\n\r\n' : 'POST / HTTP/1.1\r\n\r\n');
    }
  });
});
