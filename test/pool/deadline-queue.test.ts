import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../src/pool/deadline-queue.js';
import { ListNode } from '../../src/pool/linked-list.js';
import { VirtualClock } from './support/virtual-time.js';

interface Item {
  readonly name: string;
  readonly dueAt: number;
  readonly node: ListNode<Item>;
}

function queue(onDue: (item: Item, now: number) => void = () => undefined) {
  const clock = new VirtualClock();
  const due: string[] = [];
  const q = new DeadlineQueue<Item>(
    clock.scheduler,
    (item) => item.dueAt,
    (item, now) => {
      due.push(`${item.name}@${now}`);
      onDue(item, now);
    },
  );
  const item = (name: string, dueAt: number): Item => {
    const made = { name, dueAt } as { name: string; dueAt: number; node?: ListNode<Item> };
    made.node = new ListNode<Item>(made as Item);
    return made as Item;
  };
  return { q, clock, due, item };
}

describe('DeadlineQueue', () => {
  it('hands out each item at its deadline, in order, on one timer', () => {
    const { q, clock, due, item } = queue();
    const a = item('a', 100);
    const b = item('b', 150);
    const c = item('c', 150);
    q.add(a.node);
    q.add(b.node);
    q.add(c.node);
    expect(clock.pendingActions).toBe(1);
    clock.advanceTo(99);
    expect(due).toEqual([]);
    clock.advanceTo(100);
    expect(due).toEqual(['a@100']);
    clock.advanceTo(150);
    expect(due).toEqual(['a@100', 'b@150', 'c@150']);
    expect(q.size).toBe(0);
    expect(clock.pendingActions).toBe(0);
  });

  it('keeps its timer when the head leaves early, and sets it again for the new head when it fires', () => {
    const { q, clock, due, item } = queue();
    const a = item('a', 100);
    const b = item('b', 300);
    q.add(a.node);
    q.add(b.node);
    q.remove(a.node);
    expect(clock.pendingActions).toBe(1);
    clock.advanceTo(100);
    expect(due).toEqual([]);
    expect(clock.pendingActions).toBe(1);
    clock.advanceTo(300);
    expect(due).toEqual(['b@300']);
  });

  it('cancels its timer when it empties, and arms one again for the next item', () => {
    const { q, clock, due, item } = queue();
    const a = item('a', 100);
    q.add(a.node);
    q.remove(a.node);
    q.remove(a.node); // twice: nothing
    expect(clock.pendingActions).toBe(0);
    const b = item('b', 200);
    q.add(b.node);
    clock.advanceTo(200);
    expect(due).toEqual(['b@200']);
  });

  it('takes items added while it hands out due ones, with a single timer', () => {
    let added = false;
    const { q, clock, due, item } = queue((_item, now) => {
      if (added) return;
      added = true;
      q.add(item('late', now + 50).node);
    });
    q.add(item('a', 10).node);
    clock.advanceTo(10);
    expect(due).toEqual(['a@10']);
    expect(clock.pendingActions).toBe(1);
    clock.advanceTo(60);
    expect(due).toEqual(['a@10', 'late@60']);
    expect(clock.pendingActions).toBe(0);
  });

  it('dispose() empties it and leaves no timer', () => {
    const { q, clock, due, item } = queue();
    q.add(item('a', 10).node);
    q.add(item('b', 20).node);
    q.dispose();
    clock.advanceTo(100);
    expect(due).toEqual([]);
    expect(q.size).toBe(0);
    expect(clock.pendingActions).toBe(0);
  });
});
