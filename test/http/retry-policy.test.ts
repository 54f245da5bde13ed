import { Readable } from 'node:stream';
import { errors } from 'undici';
import { describe, expect, it } from 'vitest';
import { ConnectionGoneError, classifyFailure, decideRetry, isIdempotent, isReplayableBody } from '../../src/http/index.js';
import { markFailure } from '../../src/http/retry-policy.js';

const coded = (code: string): Error => Object.assign(new Error(code), { code });

describe('the retry policy', () => {
  it('classifies what a failure says about the request', () => {
    expect(classifyFailure(coded('ECONNRESET'))).toEqual({ reason: 'connection-reset', unprocessed: false });
    expect(classifyFailure(coded('EPIPE'))).toEqual({ reason: 'connection-reset', unprocessed: false });
    expect(classifyFailure(new errors.SocketError('other side closed'))).toEqual({ reason: 'connection-closed', unprocessed: false });
    expect(classifyFailure(new ConnectionGoneError('http://a.test:80'))).toEqual({ reason: 'connection-closed', unprocessed: true });
    expect(classifyFailure(coded('ERR_HTTP2_GOAWAY_SESSION'))).toEqual({ reason: 'goaway', unprocessed: true });
    expect(classifyFailure(new errors.ClientDestroyedError())).toEqual({ reason: 'connection-closed', unprocessed: true });
    expect(classifyFailure(markFailure(new Error('refused'), { reason: 'stream-refused', unprocessed: true }))).toEqual({
      reason: 'stream-refused',
      unprocessed: true,
    });
    // Not the connection's doing: timeouts, the caller's abort, bad responses, non-errors.
    expect(classifyFailure(new errors.HeadersTimeoutError())).toBeNull();
    expect(classifyFailure(new errors.RequestAbortedError())).toBeNull();
    expect(classifyFailure(coded('HPE_INVALID_CONSTANT'))).toBeNull();
    expect(classifyFailure(new Error('no code'))).toBeNull();
    expect(classifyFailure('ECONNRESET')).toBeNull();
  });

  it('knows the idempotent methods, and the Idempotency-Key header in every header shape', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) expect(isIdempotent(method, null)).toBe(true);
    for (const method of ['POST', 'PATCH', 'CONNECT', 'get']) expect(isIdempotent(method, undefined)).toBe(false);
    expect(isIdempotent('POST', { 'Idempotency-Key': 'k' })).toBe(true);
    expect(isIdempotent('POST', ['idempotency-key', 'k'])).toBe(true);
    expect(isIdempotent('POST', new Headers({ 'IDEMPOTENCY-KEY': 'k' }) as unknown as Iterable<[string, string]>)).toBe(true);
    expect(isIdempotent('POST', new Map([['idempotency-key', 'k']]))).toBe(true);
    expect(isIdempotent('POST', { 'idempotency-key': undefined })).toBe(false);
    expect(isIdempotent('POST', { 'x-idempotency-key': 'k' })).toBe(false);
  });

  it('sends again only bodies that can be sent again', () => {
    expect([null, undefined, '', 'text', Buffer.from('x'), new Uint8Array(2)].every(isReplayableBody)).toBe(true);
    expect(isReplayableBody(Readable.from(['x']))).toBe(false);
    expect(isReplayableBody((async function* () {})())).toBe(false);
    expect(isReplayableBody(new Blob(['x']))).toBe(false);
    expect(isReplayableBody(new FormData())).toBe(false);
  });

  it('decides: unprocessed goes again whatever the method; a reset only when idempotent and on a reused connection', () => {
    const base = { method: 'GET', headers: null, body: null, reused: true };
    expect(decideRetry({ ...base, error: coded('ECONNRESET') })).toEqual({ retry: true, reason: 'connection-reset' });
    expect(decideRetry({ ...base, error: coded('ECONNRESET'), reused: false })).toEqual({ retry: false, stale: null });
    expect(decideRetry({ ...base, method: 'POST', error: new ConnectionGoneError('x'), reused: false })).toEqual({ retry: true, reason: 'connection-closed' });
    expect(decideRetry({ ...base, method: 'POST', error: coded('ECONNRESET') })).toEqual({
      retry: false,
      stale: { reason: 'connection-reset', why: 'POST is not idempotent and the request has no Idempotency-Key header' },
    });
    expect(decideRetry({ ...base, method: 'PUT', body: Readable.from(['x']), error: coded('EPIPE') })).toEqual({
      retry: false,
      stale: { reason: 'connection-reset', why: 'its body is a stream, which has been read and cannot be sent again' },
    });
    expect(decideRetry({ ...base, body: Readable.from(['x']), error: coded('EPIPE'), reused: false })).toEqual({ retry: false, stale: null });
    expect(decideRetry({ ...base, error: new errors.BodyTimeoutError() })).toEqual({ retry: false, stale: null });
  });
});
