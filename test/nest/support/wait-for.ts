/**
 * Waits for real I/O to bring `condition` about, checking after each turn of the event loop,
 * and fails after `timeoutMs` with `what` in the message. Never used for time-based logic:
 * that runs on a virtual clock.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
