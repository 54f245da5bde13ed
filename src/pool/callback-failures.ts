import { toError } from './to-error.js';

/** Which of the user's callbacks threw. */
export type CallbackKind = 'events$ subscriber' | 'inspect observer' | 'connection hook' | 'random option';

/** The `code` of the warnings {@link CallbackFailures} emits. */
export const CALLBACK_WARNING_CODE = 'ERR_POOL_CALLBACK_THREW';

/** Distinct failures warned about per pool; past them the pool stays quiet (a callback that throws on every event would flood). */
const MAX_WARNINGS = 20;

const WHAT_TO_DO: Readonly<Record<CallbackKind, string>> = {
  'events$ subscriber': 'a subscriber must not throw: catch inside it (RxJS would otherwise report it as unhandled)',
  'inspect observer': 'the inspect observer must not throw',
  'connection hook': 'a transport called a ConnectionHooks method while the pool could not take it',
  'random option': 'random must return a number in [0, 1), like Math.random (the maxLifetime jitter is 0 meanwhile)',
};

/**
 * Where the errors of callbacks the pool calls for its user go: an `events$` subscriber, an
 * `inspect` observer, a transport's hooks. None of them may stop the pool or the process, so
 * the pool catches them and reports each distinct one once with `process.emitWarning`
 * (type `ConnectionPoolWarning`, code {@link CALLBACK_WARNING_CODE}), at most 20 per pool.
 */
export class CallbackFailures {
  readonly #warned = new Set<string>();

  /** Reports that a callback of `kind` threw `error`; never throws. */
  report(kind: CallbackKind, error: unknown): void {
    const cause = toError(error);
    const key = `${kind}: ${cause.message}`;
    if (this.#warned.has(key) || this.#warned.size >= MAX_WARNINGS) return;
    this.#warned.add(key);
    if (typeof process === 'undefined' || typeof process.emitWarning !== 'function') return;
    try {
      process.emitWarning(`A callback of the connection pool threw (${kind}): ${cause.message}. The pool goes on; ${WHAT_TO_DO[kind]}.`, {
        type: 'ConnectionPoolWarning',
        code: CALLBACK_WARNING_CODE,
        detail: cause.stack ?? String(cause),
      });
    } catch {
      // A warning that cannot be emitted is not worth a crash.
    }
  }
}

/** An XState inspection observer, as the `inspect` option takes it: an observer or a function. */
type Inspect = { next?: (event: never) => void } | ((event: never) => void);

/**
 * `inspect` made safe to call: what it throws is reported to `failures` instead of reaching
 * XState (which would throw it out of `createActor`, an acquire or `close()`).
 */
export function guardInspect<I extends Inspect>(inspect: I | undefined, failures: CallbackFailures): I | undefined {
  if (inspect === undefined) return undefined;
  const call: (event: never) => void =
    typeof inspect === 'function' ? (inspect as (event: never) => void) : (event) => (inspect as { next?: (event: never) => void }).next?.(event);
  const guarded = (event: never): void => {
    try {
      call(event);
    } catch (error) {
      failures.report('inspect observer', error);
    }
  };
  return guarded as unknown as I;
}
