/** `value` as an Error: itself if it is one, else an Error with its text. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
