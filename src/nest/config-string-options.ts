import type { ConnectionPoolOptions } from '../pool/index.js';

/**
 * A pool option as configuration gives it: `ConfigService` and `process.env` give strings
 * ("4", "30000", "Infinity", "true"), which `ConnectionPoolModule` reads as the pool's number,
 * duration (milliseconds) or boolean. Strings with a unit ("30s") are durations already.
 */
export type ConfigString = string;

/**
 * The pool's options as `ConnectionPoolModule` takes them: each number, duration or boolean
 * option may also be a string from configuration (see {@link poolOptionsFromConfig}).
 */
export type ConnectionPoolModulePoolOptions = {
  [Option in keyof ConnectionPoolOptions]: Configurable<ConnectionPoolOptions[Option]>;
};

/** A number, duration or boolean option's type, or a string; any other option's type as it is. */
type Configurable<Value> = [Exclude<Value, undefined>] extends [number | string | boolean] ? Value | ConfigString : Value;

// A whole number or a decimal ("4", "30000", "1.5"), as environment variables write them.
const NUMBER_STRING = /^\s*\d+(?:\.\d+)?\s*$/;

/**
 * The options with configuration strings read as the values they stand for: a string of
 * digits becomes that number (a count, or milliseconds for a duration), `"Infinity"` becomes
 * Infinity, `"true"`/`"false"` become booleans. Every other value, strings with a unit
 * (`"30s"`) included, is left as it is. The pool then validates the result as it validates
 * any option, so that `"4"` and `4` pass or fail alike, and a bad string (`"four"`) fails
 * with `ERR_INVALID_OPTION` naming the option and the string.
 *
 * Done here, where Nest applications read configuration, rather than in the pool itself:
 * the pool's own API stays typed (numbers are numbers), while the module takes what
 * `ConfigService` gives.
 */
export function poolOptionsFromConfig(options: ConnectionPoolModulePoolOptions | undefined): ConnectionPoolOptions | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options as ConnectionPoolOptions | undefined;
  const read: Record<string, unknown> = {};
  for (const [option, value] of Object.entries(options)) read[option] = typeof value === 'string' ? fromConfigString(value) : value;
  return read as ConnectionPoolOptions;
}

function fromConfigString(value: string): unknown {
  if (NUMBER_STRING.test(value)) return Number(value);
  switch (value.trim()) {
    case 'Infinity':
      return Infinity;
    case 'true':
      return true;
    case 'false':
      return false;
    default:
      return value;
  }
}
