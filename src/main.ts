/**
 * The reference gateway service (`npm start`): reads its configuration from the environment,
 * starts, prints the URLs to open, and drains gracefully on SIGTERM / SIGINT.
 * See README.md, "The reference service".
 */
import 'reflect-metadata';
import { formatBanner } from './app/banner.js';
import { AppConfigError } from './app/config/config.error.js';
import { loadAppConfig, type AppConfig } from './app/config/app-config.js';
import { GracefulShutdown } from './app/lifecycle/graceful-shutdown.js';
import { AppLogger } from './app/logging/app-logger.js';
import { ServiceStartError, startService, type StartedService } from './app/service.js';
import { tuneV8ForTheGateway } from './app/v8-tuning.js';

async function main(): Promise<void> {
  // Before any request: the proxy's objects must die young (see v8-tuning.ts).
  tuneV8ForTheGateway();
  let config: AppConfig;
  try {
    config = loadAppConfig(process.env);
  } catch (error) {
    if (!(error instanceof AppConfigError)) throw error;
    // The message names each variable, its value and what is expected: a stack would add nothing.
    console.error(error.message);
    process.exitCode = AppConfigError.EXIT_CODE;
    return;
  }

  const logger = new AppLogger(config.logLevel, config.logFormat);
  for (const warning of config.warnings) logger.warn(warning, 'Config');

  let service: StartedService;
  try {
    service = await startService(config, { logger });
  } catch (error) {
    if (!(error instanceof ServiceStartError)) throw error;
    logger.error(error.message, undefined, 'Startup');
    process.exitCode = 1;
    return;
  }

  new GracefulShutdown(service, { drainTimeoutMs: config.drainTimeoutMs, logger }).installSignalHandlers();
  if (config.logFormat === 'text') {
    console.log(formatBanner(service));
  } else {
    logger.log({ message: 'listening', url: service.url, upstream: service.target.toString(), embedded: service.target.embedded }, 'Startup');
  }
}

main().catch((error: unknown) => {
  console.error('The service failed to start:', error);
  process.exitCode = 1;
});
