import { InvalidOptionError } from './errors.js';

/**
 * A duration: milliseconds as a number, or a string with a unit:
 * `'250ms'`, `'30s'`, `'5m'`, `'1h'` (decimals allowed, e.g. `'1.5s'`).
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h'}`;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

/**
 * Parses a {@link Duration} into milliseconds, throwing `ERR_INVALID_OPTION`
 * (naming `option`) for anything that is not a positive duration.
 *
 * @param allowInfinity - timeouts may be `Infinity` (never); intervals may not.
 */
export function parseDuration(option: string, value: unknown, allowInfinity: boolean): number {
  const expected = `a positive duration: milliseconds as a number, or a string such as '250ms', '30s', '5m', '1h'${
    allowInfinity ? ', or Infinity' : ''
  }`;
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    if (!match) throw new InvalidOptionError(option, value, expected);
    ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  } else {
    throw new InvalidOptionError(option, value, expected);
  }
  if (Number.isNaN(ms) || ms <= 0) throw new InvalidOptionError(option, value, expected);
  if (ms === Infinity && !allowInfinity) throw new InvalidOptionError(option, value, expected);
  return ms;
}
