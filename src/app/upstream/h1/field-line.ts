/**
 * The grammar of one HTTP/1.1 field line (RFC 9112 section 5, RFC 9110 section 5.5), shared by
 * the head and the trailer section of a chunked body. Lines are checked on latin1 strings
 * (one char per byte) with charCode loops over lookup tables: no regex state, no allocation.
 */

/** 1 for each RFC 9110 tchar (the bytes a field name or a token is made of). */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;

/**
 * 1 for each byte a field value or a reason phrase may hold: HTAB, SP, VCHAR, obs-text. NUL, the
 * other controls (bare CR and LF among them) and DEL are not: a recipient that kept them could
 * be made to see another field, or another message, than the one we forward.
 */
export const TEXT_CHAR = new Uint8Array(256);
TEXT_CHAR[0x09] = 1;
for (let c = 0x20; c <= 0xff; c++) if (c !== 0x7f) TEXT_CHAR[c] = 1;

const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** Where a field line's parts are, filled by {@link scanFieldLine} (reused: no allocation per line). */
export class FieldLineBounds {
  /** Index of the colon: the name is [start, colon). */
  colon = 0;
  /** The value without its surrounding OWS: [valueStart, valueEnd). */
  valueStart = 0;
  valueEnd = 0;
}

/**
 * Checks the field line `s[start, end)` (`end`: its CR) against `field-name ":" OWS
 * field-value OWS` and fills `out`. False when the line is not one: a name that is not a
 * token or is followed by anything but the colon (whitespace before the colon is how requests
 * get smuggled), a value with a control character. The caller has already ruled out obs-fold.
 */
export function scanFieldLine(s: string, start: number, end: number, out: FieldLineBounds): boolean {
  let i = start;
  while (i < end && TCHAR[s.charCodeAt(i)] === 1) i++;
  if (i === start || i === end || s.charCodeAt(i) !== COLON) return false;
  out.colon = i;
  return scanFieldValue(s, i + 1, end, out);
}

/**
 * Checks the part of a field line after its colon, `s[from, end)`, against `OWS field-value
 * OWS` (no control character but HTAB, no DEL) and fills `out.valueStart` and `out.valueEnd`.
 */
export function scanFieldValue(s: string, from: number, end: number, out: FieldLineBounds): boolean {
  let i = from;
  while (i < end && isSpOrTab(s.charCodeAt(i))) i++;
  out.valueStart = i;
  // An arithmetic test is cheaper here than the table.
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 ? c !== HTAB : c === 0x7f) return false;
  }
  let last = end;
  while (last > out.valueStart && isSpOrTab(s.charCodeAt(last - 1))) last--;
  out.valueEnd = last;
  return true;
}

function isSpOrTab(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Whether a line starting with `c` continues the previous one (obs-fold, RFC 9112 section 5.2: rejected). */
export function isFold(c: number): boolean {
  return isSpOrTab(c);
}
