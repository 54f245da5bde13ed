/**
 * Waits for real I/O to bring `condition` about, checking after each short turn, and fails
 * after `timeoutMs` naming `what`. For states the test cannot hook an event on (a request has
 * reached the upstream, a tile has been drawn); never a stand-in for time-based logic.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
