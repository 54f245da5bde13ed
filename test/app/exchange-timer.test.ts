import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExchangeTimers } from '../../src/app/upstream/exchange-timer.js';
import { VirtualClock } from './support/virtual-clock.js';

/** Lets the stream events queued by writes run (they are on process.nextTick). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ExchangeTimers (UPSTREAM_TIMEOUT for answers and bodies), in virtual time', () => {
  it('calls onAnswerLate exactly timeoutMs after the start, and not if the answer came', () => {
    const clock = new VirtualClock();
    const timers = new ExchangeTimers(clock.scheduler, 1_000);
    const late: string[] = [];
    timers.start().onAnswerLate(() => late.push('first'));
    clock.advanceBy(400);
    const answered = timers.start();
    answered.onAnswerLate(() => late.push('second'));
    clock.advanceBy(599);
    expect(late).toEqual([]);
    clock.advanceBy(1);
    expect(late).toEqual(['first']);
    answered.answered(new PassThrough(), () => new Error('stalled'));
    clock.advanceBy(399);
    expect(late).toEqual(['first']);
  });

  it('keeps one timer for all the exchanges, and none once they have all ended', () => {
    const clock = new VirtualClock();
    const timers = new ExchangeTimers(clock.scheduler, 1_000);
    const exchanges = Array.from({ length: 50 }, () => timers.start());
    expect(clock.pendingActions).toBe(1);
    for (const exchange of exchanges) exchange.stop();
    expect(timers.running).toBe(0);
    // The timer armed for the first deadline finds nothing left, and is not armed again.
    clock.advanceBy(1_000);
    expect(clock.pendingActions).toBe(0);
    expect(timers.armedFor).toBe(Infinity);
  });

  it('fails a body silent for timeoutMs from its last chunk, not from the start', async () => {
    const clock = new VirtualClock();
    const timers = new ExchangeTimers(clock.scheduler, 1_000);
    const body = new PassThrough();
    const errors: Error[] = [];
    body.on('error', (error) => errors.push(error));
    const exchange = timers.start();
    clock.advanceBy(300);
    exchange.answered(body, () => new Error('stalled'));
    body.resume();
    clock.advanceBy(800);
    body.write('a');
    await settle();
    // 1,100 ms from the start, 300 from the last chunk: the deadline is the chunk's + 1,000.
    clock.advanceBy(999);
    expect(body.destroyed).toBe(false);
    clock.advanceBy(1);
    expect(body.destroyed).toBe(true);
    await settle();
    expect(errors.map((error) => error.message)).toEqual(['stalled']);
  });

  it('does not start the flow of the body it watches: its consumer does, and misses no byte', async () => {
    const clock = new VirtualClock();
    const timers = new ExchangeTimers(clock.scheduler, 1_000);
    const body = new PassThrough();
    body.write('early ');
    timers.start().answered(body, () => new Error('stalled'));
    await settle();
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => chunks.push(chunk));
    body.end('late');
    await new Promise((resolve) => body.once('end', resolve));
    expect(Buffer.concat(chunks).toString()).toBe('early late');
    // Ended: no longer timed, and the timer finds nothing when it fires.
    expect(timers.running).toBe(0);
    clock.advanceBy(5_000);
    expect(clock.pendingActions).toBe(0);
  });

  it('has no timer at all for an infinite timeout', () => {
    const clock = new VirtualClock();
    const timers = new ExchangeTimers(clock.scheduler, Infinity);
    const exchange = timers.start();
    exchange.onAnswerLate(() => {
      throw new Error('never');
    });
    expect(clock.pendingActions).toBe(0);
    expect(timers.running).toBe(0);
  });
});
