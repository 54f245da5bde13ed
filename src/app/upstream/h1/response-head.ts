import type { IncomingHttpHeaders } from 'node:http';
import { fieldName } from './field-names.js';
import { FieldLineBounds, isFold, scanFieldValue, TEXT_CHAR } from './field-line.js';
import { H1_PROBLEMS } from './problems.js';

/** What {@link ResponseHeadBuilder.line} says of a line: a status or field line, taken; the empty line (the head is complete); a problem, in {@link ResponseHeadBuilder.problem}. */
export type HeadLine = typeof LINE_TAKEN | typeof HEAD_COMPLETE | typeof LINE_PROBLEM;
/** A status or field line, taken: more lines follow. */
export const LINE_TAKEN = 0;
/** The empty line: the head is complete. */
export const HEAD_COMPLETE = 1;
/** A problem, in {@link ResponseHeadBuilder.problem}. */
export const LINE_PROBLEM = -1;

/**
 * The fields Node's IncomingMessage keeps only the first of when they repeat
 * (lib/_http_incoming.js, matchKnownFields): the gateway forwards what a node:http client
 * would have seen.
 */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

const DIGIT_0 = 0x30;
const SP = 0x20;

/**
 * The value of a field that frames the body, as framing reads it: trailing HTAB kept. Node's
 * parser does not take `chunked<HTAB>` as chunked (it reads the body until the close) nor
 * `2<HTAB>` as a length, while it shows both trimmed in its headers: kept here, they fail the
 * framing checks, so the two parsers never frame one answer two ways.
 */
function framingValue(s: string, valueStart: number, valueEnd: number, end: number): string {
  let last = valueEnd;
  for (let i = valueEnd; i < end; i++) if (s.charCodeAt(i) === 0x09) last = i + 1;
  return last === valueEnd ? s.slice(valueStart, valueEnd) : s.slice(valueStart, last);
}

/**
 * Builds one response head (an interim one or the final one) line by line: the status line,
 * then field lines until the empty line. Lines come either as offsets into the whole head
 * (the common case: one string for the head) or one string per line (a head spread over
 * several reads): the same checks, in the same order, so the answer does not depend on how the
 * bytes were split. Reused from one head to the next (no allocation but the headers object and
 * the strings kept).
 */
export class ResponseHeadBuilder {
  /** The status line's code, reason and version (once the status line is in). */
  statusCode = 0;
  statusMessage = '';
  httpVersion: '1.0' | '1.1' = '1.1';
  /** The fields so far, as IncomingMessage.headers holds them. */
  headers: IncomingHttpHeaders = {};
  /** The problem phrase after {@link LINE_PROBLEM}. */
  problem = '';
  /** The Content-Length value (trimmed of OWS but a trailing HTAB) and how many Content-Length fields came. */
  contentLength = '';
  contentLengthCount = 0;
  /** The Content-Length as a number, once response-framing.ts found it valid. */
  contentLengthValue = 0;
  /** The Transfer-Encoding value (trimmed as contentLength) and how many Transfer-Encoding fields came. */
  transferEncoding = '';
  transferEncodingCount = 0;
  private statusLineSeen = false;
  private readonly bounds = new FieldLineBounds();

  /** Ready for a new head. */
  reset(): void {
    this.statusLineSeen = false;
    this.headers = {};
    this.contentLengthCount = 0;
    this.transferEncodingCount = 0;
    this.problem = '';
  }

  /** Takes the line `s[start, lf]` (`lf`: the index of its LF). */
  line(s: string, start: number, lf: number): HeadLine {
    const end = lf - 1;
    if (end < start || s.charCodeAt(end) !== 0x0d) return this.fail(H1_PROBLEMS.notCrlf);
    if (!this.statusLineSeen) {
      this.statusLineSeen = true;
      return this.statusLine(s, start, end) ? LINE_TAKEN : this.fail(H1_PROBLEMS.statusLine);
    }
    if (end === start) return HEAD_COMPLETE;
    if (isFold(s.charCodeAt(start))) return this.fail(H1_PROBLEMS.obsFold);
    // The first colon ends the name (a colon is no tchar): the name is then looked up whole
    // (field-names.ts), checked only when it is new.
    const colon = s.indexOf(':', start);
    if (colon <= start || colon >= end) return this.fail(H1_PROBLEMS.fieldLine);
    const name = fieldName(s, start, colon);
    const bounds = this.bounds;
    if (name === '' || !scanFieldValue(s, colon + 1, end, bounds)) return this.fail(H1_PROBLEMS.fieldLine);
    if (name.length === 14 && name === 'content-length') {
      this.contentLengthCount++;
      this.contentLength = framingValue(s, bounds.valueStart, bounds.valueEnd, end);
    } else if (name.length === 17 && name === 'transfer-encoding') {
      this.transferEncodingCount++;
      this.transferEncoding = framingValue(s, bounds.valueStart, bounds.valueEnd, end);
    }
    this.field(name, s.slice(bounds.valueStart, bounds.valueEnd));
    return LINE_TAKEN;
  }

  /** `HTTP/1.1` or `HTTP/1.0`, SP, 3 digits (100-999), then nothing or SP and a reason phrase. */
  private statusLine(s: string, start: number, end: number): boolean {
    if (end - start < 12 || !s.startsWith('HTTP/1.', start) || s.charCodeAt(start + 8) !== SP) return false;
    const minor = s.charCodeAt(start + 7);
    if (minor !== 0x31 && minor !== 0x30) return false;
    const d1 = s.charCodeAt(start + 9) - DIGIT_0;
    const d2 = s.charCodeAt(start + 10) - DIGIT_0;
    const d3 = s.charCodeAt(start + 11) - DIGIT_0;
    // A status below 100 is no HTTP status (RFC 9110 section 15): the first digit is 1-9.
    if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return false;
    this.httpVersion = minor === 0x31 ? '1.1' : '1.0';
    this.statusCode = d1 * 100 + d2 * 10 + d3;
    if (end === start + 12) {
      this.statusMessage = '';
      return true;
    }
    if (s.charCodeAt(start + 12) !== SP) return false;
    for (let i = start + 13; i < end; i++) if (TEXT_CHAR[s.charCodeAt(i)] !== 1) return false;
    this.statusMessage = s.slice(start + 13, end);
    return true;
  }

  /** Adds a field as IncomingMessage.headers would hold it. */
  private field(name: string, value: string): void {
    const headers = this.headers;
    const previous = headers[name];
    if (previous === undefined) {
      if (name === 'set-cookie') headers[name] = [value];
      // Node drops it too: assigning it would set the object's prototype.
      else if (name !== '__proto__') headers[name] = value;
      return;
    }
    if (name === 'set-cookie') (previous as string[]).push(value);
    else if (FIRST_ONLY.has(name)) return;
    // Names such as `constructor` find the prototype's member: Node then assigns, as here.
    else if (typeof previous !== 'string') headers[name] = value;
    else headers[name] = previous + (name === 'cookie' ? '; ' : ', ') + value;
  }

  private fail(problem: string): HeadLine {
    this.problem = problem;
    return LINE_PROBLEM;
  }
}
