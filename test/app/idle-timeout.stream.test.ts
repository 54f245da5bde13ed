import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { IdleTimeoutStream } from '../../src/app/upstream/idle-timeout.stream.js';
import { VirtualClock } from './support/virtual-clock.js';

describe('IdleTimeoutStream (the upstream body watch), in virtual time', () => {
  it('fails a body that stays silent for the timeout', async () => {
    const clock = new VirtualClock();
    const watched = new IdleTimeoutStream(clock.scheduler, 1_000, () => new Error('stalled'));
    const failed = new Promise<Error>((resolve) => watched.once('error', resolve));
    clock.advanceBy(999);
    expect(watched.destroyed).toBe(false);
    clock.advanceBy(1);
    expect((await failed).message).toBe('stalled');
  });

  it('counts silence from the last chunk, not from the start', async () => {
    const clock = new VirtualClock();
    const source = new PassThrough();
    const watched = new IdleTimeoutStream(clock.scheduler, 1_000, () => new Error('stalled'));
    source.pipe(watched);
    watched.resume();
    const errors: Error[] = [];
    watched.on('error', (error) => errors.push(error));
    clock.advanceBy(800);
    source.write('a');
    await new Promise((resolve) => setImmediate(resolve));
    clock.advanceBy(800);
    expect(watched.destroyed).toBe(false);
    clock.advanceBy(200);
    expect(watched.destroyed).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((error) => error.message)).toEqual(['stalled']);
  });

  it('passes bytes through unchanged and leaves no timer behind once the body ends', async () => {
    const clock = new VirtualClock();
    const watched = new IdleTimeoutStream(clock.scheduler, 1_000, () => new Error('stalled'));
    const chunks: Buffer[] = [];
    watched.on('data', (chunk: Buffer) => chunks.push(chunk));
    await pipeline(Readable.from([Buffer.from('he'), Buffer.from('llo')]), watched);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    expect(clock.scheduler.actions).toHaveLength(0);
  });

  it('has no timer at all for an infinite timeout', () => {
    const clock = new VirtualClock();
    new IdleTimeoutStream(clock.scheduler, Infinity, () => new Error('never'));
    expect(clock.scheduler.actions).toHaveLength(0);
  });
});
