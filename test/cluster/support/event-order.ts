/**
 * A count shared by the test's thread and the backends' worker thread (a SharedArrayBuffer,
 * incremented atomically), which puts events of both threads in one order: an event that
 * took a number after another's happened after it. The clock of neither thread is needed,
 * and none is read: this is an order of events, not a measure of time.
 */
export class EventOrder {
  /** The memory both threads count in: pass it to the worker (workerData). */
  readonly buffer: SharedArrayBuffer;
  readonly #count: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) {
    this.buffer = buffer;
    this.#count = new Int32Array(buffer);
  }

  /** The next number: greater than every number either thread took before. */
  next(): number {
    return Atomics.add(this.#count, 0, 1) + 1;
  }
}
