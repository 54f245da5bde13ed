import { readdirSync } from 'node:fs';
import { waitFor } from './wait-for.js';

/**
 * The process's open file descriptors now (Linux: `/proc/self/fd`). Sockets are file
 * descriptors, so a connection left open anywhere in the process shows here, whoever holds it.
 */
export function openFileDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Waits (bounded, polling real state) until the open file descriptors are back to `baseline`
 * or fewer, and returns the count then. Sockets close a few turns of the loop after `destroy()`,
 * so a check made at once would count ones already on their way out.
 */
export async function fileDescriptorsBackTo(baseline: number, timeoutMs = 5_000): Promise<number> {
  try {
    await waitFor(() => openFileDescriptors() <= baseline, `open file descriptors to return to ${baseline}`, timeoutMs);
  } catch {
    // Reported by the caller's assertion, with the count.
  }
  return openFileDescriptors();
}
