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
  #listener: (() => void) | null = null;

  /** Whether the client has gone. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /**
   * Calls `listener` once when the client goes (at once if it has gone already). It replaces
   * the listener set before; `null` removes it (the request no longer needs to know).
   */
  onAbort(listener: (() => void) | null): void {
    this.#listener = listener;
    if (listener !== null && this.#aborted) this.abort();
  }

  /** The client went away: tells the listener, if any (once). */
  abort(): void {
    this.#aborted = true;
    const listener = this.#listener;
    this.#listener = null;
    listener?.();
  }
}
