import type * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import { errors as undiciErrors, Response as UndiciResponse } from 'undici';
import { isFormDataLike } from './dispatch-request.js';
import type { LegacyHandler } from './legacy-handler.js';

/** A request body made ready for an HTTP/2 stream: what to write, and its length when known. */
export interface H2Body {
  readonly body: unknown;
  readonly contentLength: number | null;
  /** The `content-type` the body comes with (FormData's multipart boundary), if any. */
  readonly contentType: string | null;
}

/**
 * The body as it goes on an HTTP/2 stream. FormData becomes its multipart encoding, read
 * whole first so that it goes with its `content-length` as undici sends it (its parts are in
 * memory already); by the Response of the same undici as the FormData (Node's own, or the
 * undici package's). Anything else is sent as it is.
 */
export function h2BodyOf(body: unknown): H2Body | Promise<H2Body> {
  if (!isFormDataLike(body)) return { body, contentLength: knownLength(body), contentType: null };
  const Maker = typeof globalThis.FormData === 'function' && body instanceof globalThis.FormData ? globalThis.Response : UndiciResponse;
  const response = new Maker(body as ConstructorParameters<typeof UndiciResponse>[0]);
  const contentType = response.headers.get('content-type') ?? 'multipart/form-data';
  return response.arrayBuffer().then((bytes) => {
    const encoded = Buffer.from(bytes);
    return { body: encoded, contentLength: encoded.byteLength, contentType };
  });
}

function knownLength(body: unknown): number | null {
  if (body === null || body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  if (isBlob(body)) return body.size;
  return null;
}

function isBlob(body: unknown): body is Blob {
  return typeof Blob !== 'undefined' && body instanceof Blob;
}

/** Writes the body, waiting for the stream to drain whenever its buffer is full. */
export async function writeH2Body(stream: http2.ClientHttp2Stream, body: unknown, handler: LegacyHandler): Promise<void> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    stream.end(bytes);
    handler.onBodySent?.(bytes);
    return;
  }
  const source: AsyncIterable<unknown> = isBlob(body)
    ? (body.stream() as unknown as AsyncIterable<unknown>)
    : isAsyncIterable(body) || isIterable(body)
      ? (body as AsyncIterable<unknown>)
      : (() => {
          throw new undiciErrors.InvalidArgumentError('body must be a string, a Buffer, a Uint8Array, a Readable, an (async) iterable, a Blob or FormData');
        })();
  for await (const chunk of source) {
    if (stream.destroyed) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    handler.onBodySent?.(bytes);
    if (!stream.write(bytes)) await drained(stream);
  }
  if (!stream.destroyed) stream.end();
}

function drained(stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function isAsyncIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isIterable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/** Ends a body stream the request will no longer read. */
export function destroyH2Body(body: unknown, error: Error): void {
  if (body instanceof Readable && !body.destroyed) body.destroy(error);
}
