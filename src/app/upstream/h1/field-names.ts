import { TCHAR } from './field-line.js';

/**
 * Lower-case field names without lower-casing each one: an upstream sends the same few names
 * in every answer, so each valid name seen is kept with its lower-case, interned form (the key
 * a property store into the headers object wants anyway). A name found there is known to be a
 * token already: one native hash lookup instead of a check, a lower-casing and an interning.
 * Shared by all parsers (names only, never values); bounded, emptied when full (a hostile
 * upstream sending names at random only makes its own answers slower).
 */
const lowerByRaw = new Map<string, string>();
const MAX_KEPT_NAMES = 1024;
/** Longer names are checked and lower-cased each time rather than kept. */
const MAX_KEPT_NAME = 64;

/** The interned copy of `text` (V8 interns property keys). */
function interned(text: string): string {
  return Object.keys({ [text]: 0 })[0] as string;
}

/** The lower-case name of the field line `s[start, colon)` (`colon > start`), or '' when it is not a token. */
export function fieldName(s: string, start: number, colon: number): string {
  const raw = s.slice(start, colon);
  const known = lowerByRaw.get(raw);
  if (known !== undefined) return known;
  for (let i = start; i < colon; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return '';
  const lower = interned(raw.toLowerCase());
  if (raw.length <= MAX_KEPT_NAME) {
    if (lowerByRaw.size >= MAX_KEPT_NAMES) lowerByRaw.clear();
    lowerByRaw.set(raw, lower);
  }
  return lower;
}
