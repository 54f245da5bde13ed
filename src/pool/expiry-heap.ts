/** Something with an expiry time and a slot to remember its place in the heap. */
export interface HeapEntry {
  expiresAt: number;
  heapIndex: number;
}

/**
 * A binary min-heap by `expiresAt` with O(log n) insert and removal of any entry (each
 * entry remembers its index). The pool keeps here only the idle connections whose own life
 * is shorter than `keepAlive` (a server's `Keep-Alive: timeout` hint), so the seed's
 * longest-idle-first order stays exact for all the others.
 */
export class ExpiryHeap<T extends HeapEntry> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  has(entry: T): boolean {
    return entry.heapIndex >= 0 && this.#items[entry.heapIndex] === entry;
  }

  push(entry: T): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  remove(entry: T): void {
    if (!this.has(entry)) return;
    const index = entry.heapIndex;
    const last = this.#items.pop() as T;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#down(index);
    this.#up(last.heapIndex);
  }

  #up(index: number): void {
    const items = this.#items;
    const entry = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.expiresAt <= entry.expiresAt) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const entry = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (items[right] as T).expiresAt < (items[left] as T).expiresAt ? right : left;
      const candidate = items[child] as T;
      if (candidate.expiresAt >= entry.expiresAt) break;
      items[index] = candidate;
      candidate.heapIndex = index;
      index = child;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }
}
