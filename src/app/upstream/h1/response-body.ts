import type { ServerResponse } from 'node:http';

/** What the body asks of the exchange that reads it from the upstream connection. */
export interface BodySource {
  /** Stop reading the connection: the consumer is not keeping up. */
  pause(): void;
  /** Read the connection again. */
  resume(): void;
  /** The consumer gives up on the body: the connection goes with it. */
  abandon(error: Error | undefined): void;
}

/** Body bytes held before the consumer takes them, past which the upstream connection is no longer read. */
const HELD_BYTES_LIMIT = 64 * 1024;

/** Where a response's shared `'drain'` listener finds the body writing to it. */
const BODY = Symbol('h1ResponseBody');

type DrainingResponse = ServerResponse & { [BODY]?: H1ResponseBody | null };

/**
 * The body of an upstream answer as the HTTP/1.1 client reads it: the parser's chunks, written
 * straight into the client's response once `pipe()` names it (with backpressure: a response
 * that cannot take more pauses the upstream connection until it drains).
 *
 * It is not a Node stream, on purpose: a `Readable` and `pipe()` cost a stream object, its
 * state, and a dozen listeners for every proxied request, which is what the proxy's hot path
 * spends most on (bench/RESULTS.md, issue 15). It has the part of `Readable` the proxy uses
 * (`pipe`, `destroy`, `readableEnded`, an `'error'` listener). Chunks are held until the
 * exchange flushes them after each read of the connection ({@link H1ResponseBody.flush}), or
 * until `pipe()`: what one read brings is one write to the client, the head and the end
 * included when they came with it (a short answer is one write, not three).
 */
export class H1ResponseBody {
  readableEnded = false;
  #source: BodySource;
  #target: DrainingResponse | null = null;
  /** Chunks not written yet: none, one, or several. */
  #held: Buffer | Buffer[] | null = null;
  #heldBytes = 0;
  /** Whether the end has been written. */
  #endWritten = false;
  #destroyed = false;
  #failed = false;
  #onError: ((this: H1ResponseBody, error: Error) => void) | null = null;

  constructor(source: BodySource) {
    this.#source = source;
  }

  /** Calls `listener` (with the body as `this`) if the body fails: the upstream stalled, dropped or broke its framing mid-body. */
  on(event: 'error', listener: (this: H1ResponseBody, error: Error) => void): this {
    if (event === 'error') this.#onError = listener;
    return this;
  }

  /** Writes the body into `response` as it comes, and ends it at the body's end. Once. */
  pipe<T extends ServerResponse>(response: T): T {
    if (this.#target !== null || this.#destroyed) return response;
    this.#target = response as DrainingResponse;
    this.flush();
    return response;
  }

  /** Abandons the body (the consumer stops reading before the end): the upstream connection is closed. */
  destroy(error?: Error): this {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    this.#held = null;
    if (this.#target !== null) this.#target[BODY] = null;
    if (!this.readableEnded) this.#source.abandon(error);
    return this;
  }

  /** @internal A chunk of the body, framing removed: held until the next flush. */
  push(chunk: Buffer): void {
    if (this.#destroyed) return;
    const held = this.#held;
    if (held === null) this.#held = chunk;
    else if (Array.isArray(held)) held.push(chunk);
    else this.#held = [held, chunk];
    this.#heldBytes += chunk.length;
    // Nobody takes it yet: past a limit, the upstream waits.
    if (this.#target === null && this.#heldBytes >= HELD_BYTES_LIMIT) this.#source.pause();
  }

  /** @internal The body is complete (written at the next flush). */
  end(): void {
    if (this.readableEnded || this.#destroyed) return;
    this.readableEnded = true;
  }

  /** @internal Writes what is held (and the end, once complete) into the response, if it is named yet. */
  flush(): void {
    const target = this.#target;
    if (target === null || this.#destroyed || this.#endWritten) return;
    const held = this.#held;
    this.#held = null;
    this.#heldBytes = 0;
    const chunk = held === null ? null : Array.isArray(held) ? Buffer.concat(held) : held;
    if (this.readableEnded) {
      this.#endWritten = true;
      target[BODY] = null;
      if (chunk === null) target.end();
      else target.end(chunk);
      return;
    }
    if (chunk === null) return;
    if (target.write(chunk)) this.#source.resume();
    else this.#awaitDrain(target);
  }

  /** @internal The body failed: its consumer hears of it once. */
  fail(error: Error): void {
    // A body read whole never fails: what comes after it is the connection's business.
    if (this.#failed || this.#destroyed || this.readableEnded) return;
    this.#failed = true;
    this.#held = null;
    const listener = this.#onError;
    this.#onError = null;
    listener?.call(this, error);
  }

  #awaitDrain(target: DrainingResponse): void {
    this.#source.pause();
    if (target[BODY] === this) return;
    target[BODY] = this;
    target.once('drain', onResponseDrain);
  }

  /** @internal The response drained. */
  drained(target: DrainingResponse): void {
    target[BODY] = null;
    if (!this.#destroyed && !this.#endWritten) this.#source.resume();
  }
}

function onResponseDrain(this: DrainingResponse): void {
  this[BODY]?.drained(this);
}
