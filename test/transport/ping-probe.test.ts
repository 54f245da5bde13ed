import { describe, expect, it } from 'vitest';
import { PingProbe } from '../../src/transport/index.js';
import { VirtualClock } from '../pool/support/virtual-time.js';

/** A probe on a virtual clock whose PINGs the test answers by hand. */
function probe(intervalMs = 1_000, timeoutMs = 300) {
  const clock = new VirtualClock();
  const answers: Array<(ok: boolean) => void> = [];
  let degraded = 0;
  let refuse = false;
  const made = new PingProbe(
    clock.scheduler,
    intervalMs,
    timeoutMs,
    (answered) => {
      if (refuse) return false;
      answers.push(answered);
      return true;
    },
    () => void degraded++,
  );
  return {
    probe: made,
    clock,
    answers,
    degraded: () => degraded,
    refuse: () => {
      refuse = true;
    },
  };
}

describe('PingProbe', () => {
  it('pings every interval after the last answer, and stays quiet while answers come in time', () => {
    const { probe: p, clock, answers, degraded } = probe();
    p.start();
    clock.advanceBy(999);
    expect(answers).toHaveLength(0);
    clock.advanceBy(1);
    expect(answers).toHaveLength(1);
    clock.advanceBy(299);
    answers[0]?.(true);
    clock.advanceBy(999);
    expect(answers).toHaveLength(1);
    clock.advanceBy(1);
    expect(answers).toHaveLength(2);
    expect(p.counts).toEqual({ sent: 2, answered: 1 });
    expect(degraded()).toBe(0);
    p.stop();
    expect(clock.pendingActions).toBe(0);
  });

  it('reports a PING left unanswered past its deadline, once, and stops', () => {
    const { probe: p, clock, answers, degraded } = probe();
    p.start();
    clock.advanceBy(1_000);
    clock.advanceBy(299);
    expect(degraded()).toBe(0);
    clock.advanceBy(1);
    expect(degraded()).toBe(1);
    answers[0]?.(true); // too late: ignored
    clock.advanceBy(10_000);
    expect(degraded()).toBe(1);
    expect(answers).toHaveLength(1);
    expect(p.counts).toEqual({ sent: 1, answered: 0 });
    expect(clock.pendingActions).toBe(0);
  });

  it('stops when a PING fails (the session went) or cannot be sent', () => {
    const failed = probe();
    failed.probe.start();
    failed.clock.advanceBy(1_000);
    failed.answers[0]?.(false);
    failed.clock.advanceBy(10_000);
    expect(failed.degraded()).toBe(0);
    expect(failed.answers).toHaveLength(1);
    expect(failed.clock.pendingActions).toBe(0);

    const refused = probe();
    refused.refuse();
    refused.probe.start();
    refused.clock.advanceBy(10_000);
    expect(refused.probe.counts).toEqual({ sent: 0, answered: 0 });
    expect(refused.clock.pendingActions).toBe(0);
  });

  it('never pings with an infinite interval, and does nothing once stopped', () => {
    const never = probe(Infinity);
    never.probe.start();
    expect(never.clock.pendingActions).toBe(0);
    const stopped = probe();
    stopped.probe.stop();
    stopped.probe.start();
    stopped.clock.advanceBy(10_000);
    expect(stopped.answers).toHaveLength(0);
  });

  it('checkNow sends a PING at once with the shorter deadline, keeps one in flight, and goes back to its interval once answered', () => {
    const { probe: p, clock, answers, degraded } = probe(1_000, 300);
    p.start();
    clock.advanceBy(400);
    expect(p.checkNow(200)).toBe(true);
    expect(answers).toHaveLength(1);
    expect(p.checkNow(200)).toBe(true); // one is out: no second PING
    expect(answers).toHaveLength(1);
    clock.advanceBy(199);
    answers[0]?.(true);
    clock.advanceBy(999); // the next regular PING is an interval after the answer
    expect(answers).toHaveLength(1);
    clock.advanceBy(1);
    expect(answers).toHaveLength(2);
    expect(p.checkNow(200)).toBe(true); // the regular one is out: its own deadline (300) decides
    expect(answers).toHaveLength(2);
    clock.advanceBy(299);
    expect(degraded()).toBe(0);
    clock.advanceBy(1);
    expect(degraded()).toBe(1);
    expect(p.checkNow(200)).toBe(false); // stopped
    expect(p.counts).toEqual({ sent: 2, answered: 1 });
    expect(clock.pendingActions).toBe(0);
  });

  it('checkNow reports a PING unanswered within its deadline, never waits longer than the probe timeout, and works without an interval', () => {
    const quick = probe(1_000, 300);
    quick.probe.start();
    quick.probe.checkNow(1_000); // asks for longer than the probe's own timeout: 300 it is
    quick.clock.advanceBy(299);
    expect(quick.degraded()).toBe(0);
    quick.clock.advanceBy(1);
    expect(quick.degraded()).toBe(1);

    const never = probe(Infinity, 300);
    never.probe.start();
    expect(never.probe.checkNow(100)).toBe(true);
    never.answers[0]?.(true);
    expect(never.clock.pendingActions).toBe(0); // no interval: nothing scheduled after the answer
    never.probe.checkNow(100);
    never.clock.advanceBy(100);
    expect(never.degraded()).toBe(1);
    expect(never.probe.counts).toEqual({ sent: 2, answered: 1 });
  });

  it('checkNow sends nothing while the last answer is fresher than freshForMs', () => {
    const { probe: p, clock, answers } = probe(Infinity, 300);
    p.start();
    expect(p.checkNow(200, 1_000)).toBe(true); // never answered yet: a PING goes
    clock.advanceBy(50);
    answers[0]?.(true);
    clock.advanceBy(999); // 999 ms after the answer
    expect(p.checkNow(200, 1_000)).toBe(false);
    expect(answers).toHaveLength(1);
    clock.advanceBy(1); // 1 000 ms after it
    expect(p.checkNow(200, 1_000)).toBe(true);
    expect(answers).toHaveLength(2);
    expect(p.counts).toEqual({ sent: 2, answered: 1 });
  });
});
