/** One variable that did not parse. */
export interface ConfigProblem {
  readonly variable: string;
  /** The value as shown to the operator: quoted, or a placeholder for a secret. */
  readonly shown: string;
  readonly expected: string;
  readonly defaultText: string;
}

/**
 * The environment does not describe a configuration the service can run with. The message
 * lists every bad variable with its value (a secret's is never shown), what was expected and
 * the default: it is meant to be printed as it is, without a stack.
 */
export class AppConfigError extends Error {
  /** The exit code for this failure: EX_CONFIG (78) from sysexits.h. */
  static readonly EXIT_CODE = 78;

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      [
        `Invalid configuration: ${problems.length} environment variable(s) to fix.`,
        ...problems.map((p) => `  ${p.variable}=${p.shown}: expected ${p.expected}. Default: ${p.defaultText}.`),
      ].join('\n'),
    );
    this.name = 'AppConfigError';
  }
}
