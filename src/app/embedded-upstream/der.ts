/**
 * A minimal DER encoder (ITU-T X.690): just the types an X.509 certificate needs. Lengths are
 * definite, and every value is built bottom-up from its parts, so there is nothing to
 * backpatch.
 */

/** Tag, length and value. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** SEQUENCE of the parts, in order. */
export const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
/** SET of the parts (DER wants them sorted; every SET here has one element). */
export const set = (...parts: Buffer[]): Buffer => tlv(0x31, ...parts);
/** BOOLEAN (DER: TRUE is 0xff). */
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** OCTET STRING (an extension's value wraps its DER encoding in one). */
export const octetString = (value: Buffer): Buffer => tlv(0x04, value);
/** UTF8String. */
export const utf8String = (value: string): Buffer => tlv(0x0c, Buffer.from(value, 'utf8'));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (value: Buffer): Buffer => tlv(0x03, Buffer.from([0]), value);
/** `[n] EXPLICIT`: a constructed, context-specific tag around its parts. */
export const explicit = (n: number, ...parts: Buffer[]): Buffer => tlv(0xa0 | n, ...parts);
/** `[n] IMPLICIT` of a primitive value (e.g. a GeneralName's dNSName or iPAddress). */
export const implicitPrimitive = (n: number, value: Buffer): Buffer => tlv(0x80 | n, value);

/** A non-negative INTEGER from its big-endian bytes (a leading 0 keeps it positive). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, (trimmed[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out = [40 * first + second];
  for (const arc of rest) {
    const bytes = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) bytes.unshift((value & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime (years 1950-2049) or GeneralizedTime, as RFC 5280 §4.1.2.5 requires. */
export function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}
