/**
 * Tells an upstream client that the client it forwards for went away, so that it abandons the
 * upstream request (closes the connection, or resets the h2 stream).
 *
 * What an `AbortSignal` would do, at the cost the proxy's hot path can afford: an
 * `AbortController` is an EventTarget, and aborting one builds a `DOMException` with its
 * stack. Here there is one listener (the upstream client that is sending the request) and
 * nothing is made until the client actually leaves, which most never do.
 */
export class ClientAbort {
  #aborted = false;
  #listener: ((this: unknown) => void) | null = null;
  #subject: unknown = undefined;

  /** Whether the client has gone. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /**
   * Calls `listener` once when the client goes (at once if it has gone already), with
   * `subject` as `this` (a shared function then needs no closure per request). It replaces the
   * listener set before; `null` removes it (the request no longer needs to know).
   */
  onAbort<T>(listener: ((this: T) => void) | null, subject?: T): void {
    this.#listener = listener as ((this: unknown) => void) | null;
    this.#subject = subject;
    if (listener !== null && this.#aborted) this.abort();
  }

  /** The client went away: tells the listener, if any (once). */
  abort(): void {
    this.#aborted = true;
    const listener = this.#listener;
    const subject = this.#subject;
    this.#listener = null;
    this.#subject = undefined;
    listener?.call(subject);
  }
}
