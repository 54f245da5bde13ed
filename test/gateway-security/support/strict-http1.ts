/**
 * A deliberately strict HTTP/1.1 message parser for the tests (RFC 9112): what it accepts is
 * unambiguous for every parser, so a byte stream it parses into N messages is read as N
 * messages by any upstream. Anything else is a {@link StrictParseError}: bare CR or LF,
 * obs-fold, control characters, a Content-Length that is not one plain number, a
 * Transfer-Encoding other than exactly `chunked`, both at once, a malformed chunk.
 */

/** Why bytes are not one well-framed message. */
export class StrictParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrictParseError';
  }
}

/** How a message's body was delimited. */
export type Framing = 'none' | 'length' | 'chunked' | 'close';

/** One message, parsed. */
export interface ParsedMessage {
  /** The request line or the status line. */
  readonly startLine: string;
  /** Header fields in order, names lower-cased. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly framing: Framing;
}

/** A parsed request. */
export interface ParsedRequest extends ParsedMessage {
  readonly method: string;
  readonly target: string;
}

/** A parsed response. */
export interface ParsedResponse extends ParsedMessage {
  readonly status: number;
  readonly reason: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, SP and HTAB inside; nothing else.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The values of header `name` (lower-case). */
export function headerValues(message: ParsedMessage, name: string): string[] {
  return message.headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** The one value of header `name`, or undefined. */
export function header(message: ParsedMessage, name: string): string | undefined {
  return headerValues(message, name)[0];
}

interface Head {
  readonly startLine: string;
  readonly headers: Array<[string, string]>;
  /** Offset just past the empty line. */
  readonly end: number;
}

function parseHead(buffer: Buffer, offset: number): Head | null {
  const headEnd = buffer.indexOf('\r\n\r\n', offset, 'latin1');
  const probe = buffer.subarray(offset, headEnd === -1 ? buffer.length : headEnd + 4).toString('latin1');
  // A bare LF or CR anywhere in the head, even before the head is complete, is an error.
  for (let i = 0; i < probe.length; i++) {
    const c = probe.charCodeAt(i);
    if (c === 0x0d && i + 1 < probe.length && probe.charCodeAt(i + 1) !== 0x0a) throw new StrictParseError(`bare CR at byte ${offset + i}`);
    if (c === 0x0a && (i === 0 || probe.charCodeAt(i - 1) !== 0x0d)) throw new StrictParseError(`bare LF at byte ${offset + i}`);
  }
  if (headEnd === -1) return null;
  const lines = probe.slice(0, -4).split('\r\n');
  const startLine = lines.shift() ?? '';
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new StrictParseError(`obs-fold: ${JSON.stringify(line)}`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new StrictParseError(`not a header field: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TOKEN.test(name)) throw new StrictParseError(`bad header name ${JSON.stringify(name)}`);
    if (!FIELD_VALUE.test(value)) throw new StrictParseError(`control character in header ${name}: ${JSON.stringify(value)}`);
    headers.push([name.toLowerCase(), value]);
  }
  return { startLine, headers, end: headEnd + 4 };
}

type BodyRule = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

function bodyRule(headers: ReadonlyArray<readonly [string, string]>, whenNeither: 'none' | 'close'): BodyRule {
  const lengths = headers.filter(([n]) => n === 'content-length').map(([, v]) => v);
  const codings = headers.filter(([n]) => n === 'transfer-encoding').map(([, v]) => v);
  if (lengths.length > 0 && codings.length > 0) throw new StrictParseError('both Content-Length and Transfer-Encoding');
  if (lengths.length > 1) throw new StrictParseError(`${lengths.length} Content-Length fields`);
  if (codings.length > 1) throw new StrictParseError(`${codings.length} Transfer-Encoding fields`);
  if (codings.length === 1) {
    if (codings[0] !== 'chunked') throw new StrictParseError(`Transfer-Encoding ${JSON.stringify(codings[0])} (only "chunked" is unambiguous)`);
    return { kind: 'chunked' };
  }
  if (lengths.length === 1) {
    const text = lengths[0] as string;
    if (!/^\d{1,15}$/.test(text)) throw new StrictParseError(`Content-Length ${JSON.stringify(text)}`);
    return { kind: 'length', length: Number(text) };
  }
  return { kind: whenNeither };
}

interface Body {
  readonly body: Buffer;
  readonly end: number;
}

function parseChunked(buffer: Buffer, offset: number): Body | null {
  const parts: Buffer[] = [];
  let at = offset;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at, 'latin1');
    if (lineEnd === -1) {
      if (buffer.length - at > 64) throw new StrictParseError('chunk-size line too long');
      return null;
    }
    const line = buffer.subarray(at, lineEnd).toString('latin1');
    const match = /^([0-9A-Fa-f]{1,8})(;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(=[!#$%&'*+\-.^_`|~0-9A-Za-z]+)?)*$/.exec(line);
    if (match === null) throw new StrictParseError(`bad chunk-size line ${JSON.stringify(line)}`);
    const size = parseInt(match[1] as string, 16);
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer section: fields, then an empty line.
      for (;;) {
        const end = buffer.indexOf('\r\n', at, 'latin1');
        if (end === -1) return null;
        const trailer = buffer.subarray(at, end).toString('latin1');
        at = end + 2;
        if (trailer === '') return { body: Buffer.concat(parts), end: at };
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(trailer)) throw new StrictParseError(`bad trailer ${JSON.stringify(trailer)}`);
      }
    }
    if (buffer.length < at + size + 2) return null;
    parts.push(buffer.subarray(at, at + size));
    if (buffer[at + size] !== 0x0d || buffer[at + size + 1] !== 0x0a) throw new StrictParseError('chunk data not followed by CRLF');
    at += size + 2;
  }
}

function parseBody(buffer: Buffer, offset: number, rule: BodyRule, closed: boolean): Body | null {
  switch (rule.kind) {
    case 'none':
      return { body: Buffer.alloc(0), end: offset };
    case 'length':
      return buffer.length - offset >= rule.length ? { body: buffer.subarray(offset, offset + rule.length), end: offset + rule.length } : null;
    case 'chunked':
      return parseChunked(buffer, offset);
    case 'close':
      return closed ? { body: buffer.subarray(offset), end: buffer.length } : null;
  }
}

/**
 * One request starting at `offset`, or null while incomplete.
 *
 * @throws StrictParseError for anything that is not one unambiguous HTTP/1.1 request.
 */
export function parseRequestAt(buffer: Buffer, offset: number): { readonly request: ParsedRequest; readonly end: number } | null {
  const head = parseHead(buffer, offset);
  if (head === null) return null;
  const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.1$/.exec(head.startLine);
  if (match === null) throw new StrictParseError(`bad request line ${JSON.stringify(head.startLine)}`);
  const hosts = head.headers.filter(([n]) => n === 'host');
  if (hosts.length !== 1) throw new StrictParseError(`${hosts.length} Host fields`);
  const body = parseBody(buffer, head.end, bodyRule(head.headers, 'none'), false);
  if (body === null) return null;
  const framing = bodyRule(head.headers, 'none').kind;
  return {
    request: { startLine: head.startLine, headers: head.headers, body: body.body, framing, method: match[1] as string, target: match[2] as string },
    end: body.end,
  };
}

/**
 * One response starting at `offset`, to a request of `method`, or null while incomplete
 * (`closed`: the connection has ended, so a body delimited by the close is complete).
 *
 * @throws StrictParseError for anything that is not one unambiguous HTTP/1.1 response.
 */
export function parseResponseAt(buffer: Buffer, offset: number, method: string, closed: boolean): { readonly response: ParsedResponse; readonly end: number } | null {
  const head = parseHead(buffer, offset);
  if (head === null) return null;
  const match = /^HTTP\/1\.1 (\d{3}) ([\t\x20-\x7e\x80-\xff]*)$/.exec(head.startLine);
  if (match === null) throw new StrictParseError(`bad status line ${JSON.stringify(head.startLine)}`);
  const status = Number(match[1]);
  const noBody = method === 'HEAD' || status === 204 || status === 304 || status < 200;
  const rule: BodyRule = noBody ? { kind: 'none' } : bodyRule(head.headers, 'close');
  const body = parseBody(buffer, head.end, rule, closed);
  if (body === null) return null;
  return {
    response: { startLine: head.startLine, headers: head.headers, body: body.body, framing: rule.kind, status, reason: match[2] as string },
    end: body.end,
  };
}
