import type { NextFunction, Request, Response } from 'express';
import type { LoggerService } from '@nestjs/common';
import { sendProxyError } from '../proxy/proxy-error.response.js';

/**
 * The last error handler of the Express application, after Nest's: an error that gets past
 * Nest's exception filters (one thrown while Nest answers, or by Express itself) is answered
 * with a JSON body that says nothing of it (its message, stack and paths go to the log
 * only), rather than Express's HTML error page, which shows the stack outside production.
 */
export function jsonErrorHandler(logger: LoggerService): (error: unknown, request: Request, response: Response, next: NextFunction) => void {
  return (error, request, response, _next) => {
    const status = statusOf(error);
    logger.error(`${request.method} ${request.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, undefined, 'Http');
    if (response.headersSent) {
      // Too late for an answer: the client learns of the failure by the connection being cut.
      response.destroy();
      return;
    }
    if (status < 500) sendProxyError(response, status, 'BAD_REQUEST', 'The request could not be read.');
    else sendProxyError(response, 500, 'INTERNAL_ERROR', 'The service failed to answer this request.');
  };
}

/** A client error's status (Express and body parsers set `status` on theirs), else 500. */
function statusOf(error: unknown): number {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}
