/**
 * Lower-case field names without a string per field: an upstream sends the same few names in
 * every answer, so each name seen is kept (raw and lower-cased) in a small table indexed by a
 * hash of its bytes, computed while the name is checked. A name found there costs one compare
 * of the head's own characters, no slice, no toLowerCase; and the lower-case name it gives is
 * an internalized string, which is what a property store into the headers object wants anyway.
 * Shared by all parsers (names only, never values); a miss just lower-cases and replaces the slot.
 */

const SLOTS = 1024;
/** Longer names are lower-cased each time rather than kept. */
const MAX_KEPT_NAME = 64;
const rawNames: string[] = new Array<string>(SLOTS).fill('');
const lowerNames: string[] = new Array<string>(SLOTS).fill('');

/** The hash {@link lowerCaseName} expects of a name, one char at a time from 0: `step(hash, charCode)`. */
export function nameHashStep(hash: number, charCode: number): number {
  return (Math.imul(hash, 31) + charCode) | 0;
}

/** The internalized copy of `text` (V8 internalizes property keys). */
function internalized(text: string): string {
  return Object.keys({ [text]: 0 })[0] as string;
}

/** Whether `s` holds `raw` at `start`: a loop, which V8 inlines; startsWith() was 14 % of the parse in a profile. */
function sameChars(s: string, start: number, raw: string): boolean {
  for (let i = 0; i < raw.length; i++) if (s.charCodeAt(start + i) !== raw.charCodeAt(i)) return false;
  return true;
}

/** The lower-case field name `s[start, end)`, whose {@link nameHashStep} hash is `hash`. */
export function lowerCaseName(s: string, start: number, end: number, hash: number): string {
  const slot = hash & (SLOTS - 1);
  const raw = rawNames[slot] as string;
  if (raw.length === end - start && sameChars(s, start, raw)) return lowerNames[slot] as string;
  const name = s.slice(start, end);
  const lower = internalized(name.toLowerCase());
  if (name.length <= MAX_KEPT_NAME) {
    rawNames[slot] = internalized(name);
    lowerNames[slot] = lower;
  }
  return lower;
}
