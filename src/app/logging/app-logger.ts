import { ConsoleLogger, type LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogFormat, LogLevel } from '../config/env-variables.js';

/** Nest's levels shown for each `LOG_LEVEL`. */
const NEST_LEVELS: Readonly<Record<LogLevel, NestLogLevel[]>> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Nest's own start-up chatter (a line per module and route), shown only at `debug`. */
const BOOT_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/**
 * The service's logger: Nest's console logger at `LOG_LEVEL`, as text or one JSON object
 * per line (`LOG_FORMAT`), without Nest's start-up lines unless at `debug`.
 */
export class AppLogger extends ConsoleLogger {
  readonly #verbose: boolean;

  constructor(level: LogLevel, format: LogFormat) {
    super('gateway', { logLevels: NEST_LEVELS[level], json: format === 'json', prefix: 'gateway', colors: format === 'text' && process.stdout.isTTY === true });
    this.#verbose = level === 'debug';
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (!this.#verbose && typeof context === 'string' && BOOT_CONTEXTS.has(context)) return;
    super.log(message, ...optionalParams);
  }
}
