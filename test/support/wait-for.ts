/**
 * Polls `condition` until it holds, for at most `timeoutMs` of real time. For states that
 * real sockets reach through events the test cannot hook (a buffer filling, a handle going
 * away): it waits on what happens, never a fixed time.
 *
 * @throws an Error naming `what` when the time runs out.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * How many resources of a type keep the event loop alive now (`process.getActiveResourcesInfo()`):
 * `'TCPSocketWrap'` counts ref'd TCP sockets, connecting ones included (TLS sockets too).
 */
export function activeResources(type: string): number {
  return process.getActiveResourcesInfo().filter((name) => name === type).length;
}
