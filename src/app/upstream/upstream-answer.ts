import { UpstreamError } from './upstream.errors.js';
import { FIELD_TEXT } from '../http-grammar.js';

/**
 * What of an upstream's answer the gateway forwards, in one place for both upstream clients
 * (issue: the gateway as a safe HTTP intermediary).
 *
 * - Interim (1xx) responses: `100 Continue` and `103 Early Hints` are read and not passed on
 *   (the gateway answered the client's `Expect` itself); any other, `101 Switching Protocols`
 *   above all (the gateway never asks for an upgrade), means the upstream is not speaking the
 *   exchange the gateway started, and so do more than {@link MAX_INTERIM_RESPONSES} of them.
 * - Final responses: a status from 200 to 599 and a reason phrase of HTAB, SP, visible ASCII
 *   and obs-text only (RFC 9112 §4), so that the status line the client gets is well formed.
 *
 * Any of these ends the exchange in a 502 (`UPSTREAM_PROTOCOL_ERROR`) and the upstream
 * connection is closed, never reused.
 */

/** Interim responses tolerated before one final response. */
export const MAX_INTERIM_RESPONSES = 8;

/** Interim statuses read and not forwarded. */
const TOLERATED_INTERIM = new Set([100, 103]);

/** Why an interim response (the `count`-th) cannot be part of a forwarded exchange, or null. */
export function interimAnswerProblem(statusCode: number, count: number): string | null {
  if (statusCode === 101) return 'it switched protocols (101) though no upgrade was asked for';
  if (!TOLERATED_INTERIM.has(statusCode)) return `it sent an interim response ${statusCode}, which the gateway does not forward`;
  if (count > MAX_INTERIM_RESPONSES) return `it sent more than ${MAX_INTERIM_RESPONSES} interim responses before its answer`;
  return null;
}

/** Why a final response cannot be forwarded as it is, or null. */
export function finalAnswerProblem(statusCode: number | undefined, statusMessage: string | undefined): string | null {
  if (statusCode === undefined || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) {
    return `its status ${String(statusCode)} is not a final HTTP status`;
  }
  if (statusMessage !== undefined && !FIELD_TEXT.test(statusMessage)) return 'its reason phrase holds characters a status line may not';
  return null;
}

/** The 502 for an answer that cannot be forwarded. */
export function upstreamProtocolError(target: string, problem: string, options?: { cause?: unknown }): UpstreamError {
  return new UpstreamError('UPSTREAM_PROTOCOL_ERROR', 502, `The upstream ${target} gave an answer that cannot be forwarded: ${problem}.`, options);
}
