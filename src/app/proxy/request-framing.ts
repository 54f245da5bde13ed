import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { TOKEN } from '../http-grammar.js';
import type { BodyFraming } from '../upstream/upstream-client.js';

export type { BodyFraming } from '../upstream/upstream-client.js';

/** Why a request is refused before any byte of it reaches the upstream. */
export interface FramingRefusal {
  readonly status: 400 | 501;
  /** `AMBIGUOUS_FRAMING`, `BAD_HOST`, `UNSUPPORTED_HTTP_VERSION`, `UNSUPPORTED_TRANSFER_CODING`. */
  readonly code: string;
  readonly message: string;
}

const NONE: BodyFraming = Object.freeze({ kind: 'none' });
const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' });

// RFC 3986 authority (reg-name or IPv4 / IP-literal, optional port).
const HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::\d*)?$|^\[[0-9A-Fa-f:.]+\](?::\d*)?$/;

function refusal(code: string, message: string, status: 400 | 501 = 400): FramingRefusal {
  return { status, code, message };
}

/** Whether `value` is a {@link FramingRefusal} rather than a {@link BodyFraming}. */
export function isFramingRefusal(value: BodyFraming | FramingRefusal): value is FramingRefusal {
  return 'status' in value;
}

/**
 * The framing of `request`'s body as the gateway will forward it, or why the request must be
 * refused: the one place that decides, for every route and both upstream protocols.
 *
 * Node's parser (llhttp, strict unless `insecureHTTPParser`) already refuses a request with
 * both `Content-Length` and `Transfer-Encoding`, two `Content-Length` fields, a
 * `Transfer-Encoding` that does not end in `chunked`, obs-fold, bare CR or LF and control
 * characters. What it lets through and is refused here, from the header lines as received
 * (`rawHeaders`), so that it holds whatever the parser's leniency:
 *
 * - more than one `Host`, or a `Host` that is not an authority (RFC 9112 §3.2: 400);
 * - an HTTP version other than 1.0 and 1.1 (an HTTP/0.9 request line);
 * - more than one `Content-Length` or `Transfer-Encoding` field, or both kinds (RFC 9112 §6.3);
 * - `Transfer-Encoding` other than exactly `chunked` (case-insensitive): `identity, chunked`
 *   and empty list members are ambiguous (400); codings such as `gzip, chunked` are well
 *   formed but not forwarded (501, RFC 9112 §6.1);
 * - `Transfer-Encoding` on an HTTP/1.0 request (RFC 9112 §6.1: faulty framing).
 */
export function requestFramingOf(request: IncomingMessage): BodyFraming | FramingRefusal {
  const decided = (request as DecidedRequest)[DECISION];
  if (decided !== undefined) return decided;
  return ((request as DecidedRequest)[DECISION] = decide(request));
}

/**
 * Each request's decision, made once (the front door and the proxy both ask), kept on the
 * request itself: a WeakMap entry per request (an ephemeron) made every garbage collection
 * of the busy gateway dearer.
 */
const DECISION = Symbol('requestFraming');

type DecidedRequest = IncomingMessage & { [DECISION]?: BodyFraming | FramingRefusal };

function decide(request: IncomingMessage): BodyFraming | FramingRefusal {
  const version = request.httpVersion;
  if (version !== '1.1' && version !== '1.0') {
    return refusal('UNSUPPORTED_HTTP_VERSION', `HTTP/${version} is not served: use HTTP/1.1.`);
  }
  const raw = request.rawHeaders;
  let hosts = 0;
  let host: string | undefined;
  let lengths = 0;
  let length: string | undefined;
  let codings = 0;
  let coding: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Only three names matter here: compare lengths before case-folding.
    if (name.length === 4) {
      if (name.toLowerCase() === 'host') {
        hosts++;
        host = raw[i + 1];
      }
    } else if (name.length === 14) {
      if (name.toLowerCase() === 'content-length') {
        lengths++;
        length = raw[i + 1];
      }
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      codings++;
      coding = raw[i + 1];
    }
  }

  if (hosts > 1) return refusal('BAD_HOST', 'The request has more than one Host header field.');
  if (hosts === 0 && version === '1.1') return refusal('BAD_HOST', 'An HTTP/1.1 request needs a Host header field.');
  if (host !== undefined && !HOST.test(host)) return refusal('BAD_HOST', 'The Host header field is not a host name or address with an optional port.');

  if (lengths + codings > 1) {
    return refusal('AMBIGUOUS_FRAMING', 'The request has more than one Content-Length or Transfer-Encoding field: its body could be read in more than one way.');
  }
  if (coding !== undefined) {
    if (version === '1.0') return refusal('AMBIGUOUS_FRAMING', 'Transfer-Encoding is not defined for HTTP/1.0 requests: send HTTP/1.1, or a Content-Length.');
    const value = coding.trim().toLowerCase();
    if (value === 'chunked') return CHUNKED;
    const members = value.split(',').map((member) => member.trim());
    const wellFormed = members.every((member) => TOKEN.test(member) && member !== 'identity') && members.indexOf('chunked') === members.length - 1;
    if (wellFormed) {
      return refusal('UNSUPPORTED_TRANSFER_CODING', `Transfer-Encoding "${value}" is not forwarded: send the body with only "chunked", or with a Content-Length.`, 501);
    }
    return refusal('AMBIGUOUS_FRAMING', 'Transfer-Encoding must be exactly "chunked": any other list can be read in more than one way.');
  }
  if (length !== undefined) {
    const value = length.trim();
    const bytes = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(bytes)) return refusal('AMBIGUOUS_FRAMING', 'Content-Length must be one decimal number.');
    return { kind: 'length', length: bytes };
  }
  return NONE;
}

/** Sets in `headers` the field that states `framing` on HTTP/1.1 (lower-case names): none, `content-length` or `transfer-encoding`. */
export function setFramingHeaders(headers: OutgoingHttpHeaders, framing: BodyFraming): void {
  if (framing.kind === 'length') headers['content-length'] = String(framing.length);
  else if (framing.kind === 'chunked') headers['transfer-encoding'] = 'chunked';
}
