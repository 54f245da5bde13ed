import type { IncomingHttpHeaders } from 'node:http';
import { CHUNKED_PROBLEM, ChunkedBodyDecoder } from './chunked-body.js';
import { headTooLarge, H1_PROBLEMS } from './problems.js';
import { framingProblemOf, persists } from './response-framing.js';
import { HEAD_COMPLETE, LINE_PROBLEM, ResponseHeadBuilder } from './response-head.js';

/** Default limit of a response head (status line + fields + empty line), as Node's maxHeaderSize. */
export const DEFAULT_MAX_HEAD_BYTES = 16 * 1024;

/** A final response head, as {@link H1ResponseSink.onHead} receives it. */
export interface H1ResponseHead {
  /** 3 digits, 100-999 as sent (the caller judges the range). */
  readonly statusCode: number;
  /** Reason phrase, '' when none. */
  readonly statusMessage: string;
  readonly httpVersion: '1.0' | '1.1';
  /** Lower-case names; repeated fields combined exactly as Node's IncomingMessage.headers does (set-cookie an array; the fields Node keeps only the first of; cookie joined with '; '; others joined with ', '). */
  readonly headers: IncomingHttpHeaders;
  /** May the connection carry another exchange after this message: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`; never when the body is delimited by the close. */
  readonly keepAlive: boolean;
  /** How the body is delimited: a byte count (0: no body), 'chunked', or 'until-close'. */
  readonly body: number | 'chunked' | 'until-close';
}

/** What {@link H1ResponseParser} tells as it reads an answer. */
export interface H1ResponseSink {
  /** A 1xx head (100, 102, 103 ...; 101 too, after which the parser stops by itself: what follows is not HTTP/1.1). */
  onInterim(statusCode: number, headers: IncomingHttpHeaders): void;
  /** The final head. */
  onHead(head: H1ResponseHead): void;
  /** Body bytes, chunk framing removed: subarrays of the pushed buffers (no copy). */
  onBody(chunk: Buffer): void;
  /** The message is complete. `trailingBytes`: bytes that followed it in the same push (not parsed: the caller decides; a non-pipelining client discards the connection). */
  onEnd(trailingBytes: number): void;
}

// What the parser is doing (numbers: the hot switch compares small integers).
/** No exchange expected: expect() was never called. */
const IDLE = 0;
const HEAD = 1;
const LENGTH = 2;
const CHUNKED = 3;
const UNTIL_CLOSE = 4;
/** onEnd was called; expect() comes next. */
const ENDED = 5;
/** A problem, stop(), or a 101: everything is ignored until expect(). */
const IGNORING = 6;

const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
/** How much of a read is decoded to look for the end of a head in it at first (most heads are shorter). */
const HEAD_WINDOW = 1024;

/** Buffer's own latin1 decoder, without toString()'s encoding dispatch (it is on every Buffer, though @types/node does not say so). */
type Latin1Slicer = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * A strict, incremental HTTP/1.1 response parser (RFC 9112) for the gateway's upstream client:
 * it reads an answer as a node:http client would, but rejects everything ambiguous (bare CR or
 * LF, obs-fold, control characters, whitespace before a colon, Content-Length with
 * Transfer-Encoding, a transfer coding other than chunked, repeated or malformed lengths),
 * since the gateway forwards what it reads to a client whose parser may disagree.
 *
 * Fast where it counts: a head that arrives in one read is decoded to one latin1 string (the
 * read's first KiB, searched for the empty line) and checked with charCode loops; body bytes
 * come out as subarrays of the pushed buffers (the buffer itself when a read is all body). A
 * head spread over reads is checked line by line as the lines complete, with the same checks in
 * the same order (same answer for any split). Cheap to make: one per exchange costs nothing
 * measurable next to reusing one with expect() (bench/RESULTS.md, issue 15 session 7).
 *
 * A sink callback that throws leaves push() or end() with its exception and the parser midway:
 * call expect() before using it again (or drop it with the connection).
 */
export class H1ResponseParser {
  private readonly maxHeadBytes: number;
  private readonly head = new ResponseHeadBuilder();
  /** Made at the first chunked body: most parsers never see one. */
  private chunkedDecoder: ChunkedBodyDecoder | null = null;
  private phase: number = IDLE;
  /** Bumped by expect() and stop(): a callback that called either ends the push it came from. */
  private epoch = 0;
  private method = '';
  /** Bytes of the current head taken so far (lines complete), and the start of a line a read ended in. */
  private headBytes = 0;
  private headPartial = '';
  private sawBytes = false;
  private remaining = 0;
  /** The problem the current push met, returned once its loop unwinds. */
  private pushProblem: string | null = null;

  constructor(
    private readonly sink: H1ResponseSink,
    options?: { maxHeadBytes?: number },
  ) {
    const maxHeadBytes = options?.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
    if (!Number.isSafeInteger(maxHeadBytes) || maxHeadBytes < 1) {
      throw new RangeError(`maxHeadBytes must be a positive integer (bytes), got ${String(maxHeadBytes)}: leave it out for ${DEFAULT_MAX_HEAD_BYTES}.`);
    }
    this.maxHeadBytes = maxHeadBytes;
  }

  /** Ready for the answer to a request of `method` (HEAD: no body whatever the head says). Resets all state; callable again for the next exchange on the same connection. */
  expect(method: string): void {
    this.epoch++;
    this.method = method;
    this.phase = HEAD;
    this.startHead();
    this.sawBytes = false;
  }

  /** Feeds bytes. Returns null, or a problem phrase once the bytes cannot be an HTTP/1.1 answer; after a problem the parser ignores everything until expect(). */
  push(chunk: Buffer): string | null {
    const length = chunk.length;
    if (length === 0) return null;
    const epoch = this.epoch;
    this.pushProblem = null;
    let offset = 0;
    switch (this.phase) {
      case IDLE:
        return this.fail(H1_PROBLEMS.bytesUnasked);
      case ENDED:
        return this.fail(H1_PROBLEMS.bytesAfterAnswer);
      case IGNORING:
        return null;
    }
    this.sawBytes = true;
    while (offset < length) {
      switch (this.phase) {
        case HEAD:
          offset = this.headPartial === '' && this.headBytes === 0 ? this.readWholeHead(chunk, offset) : this.readHeadLines(chunk, offset);
          // A complete head with no body ends the message: the rest of the push is trailing.
          if (offset >= 0 && this.ended) return this.finish(length - offset);
          break;
        case LENGTH: {
          const take = Math.min(this.remaining, length - offset);
          this.remaining -= take;
          // A read that is all body goes out as it is: no Buffer made for it.
          this.sink.onBody(take === length ? chunk : chunk.subarray(offset, offset + take));
          if (this.epoch !== epoch) return null;
          offset += take;
          if (this.remaining === 0) return this.finish(length - offset);
          break;
        }
        case CHUNKED: {
          const decoder = this.chunkedDecoder as ChunkedBodyDecoder;
          offset = decoder.decode(chunk, offset);
          if (this.epoch !== epoch) return null;
          if (offset === CHUNKED_PROBLEM) return this.fail(decoder.problem);
          if (decoder.complete) return this.finish(length - offset);
          break;
        }
        case UNTIL_CLOSE:
          this.sink.onBody(offset === 0 ? chunk : chunk.subarray(offset));
          return null;
        default:
          return null;
      }
      if (this.epoch !== epoch) return null;
      // A problem, or a 101 after which nothing is read.
      if (offset < 0) return this.pushProblem;
    }
    return null;
  }

  /** The connection ended (EOF): completes an 'until-close' body (onEnd(0)) and returns null; otherwise returns a problem; null if nothing was pending (between messages). */
  end(): string | null {
    switch (this.phase) {
      case UNTIL_CLOSE:
        this.phase = ENDED;
        this.sink.onEnd(0);
        return null;
      case HEAD:
        return this.fail(this.sawBytes ? H1_PROBLEMS.closedEarly : H1_PROBLEMS.closedBeforeAnswer);
      case LENGTH:
      case CHUNKED:
        return this.fail(H1_PROBLEMS.closedEarly);
      default:
        return null;
    }
  }

  /** The sink's owner stops parsing (it refused what it got): every later callback is suppressed, push() returns null and does nothing until expect(). Callable from inside a sink callback: the parser must check after each callback and stop at once. */
  stop(): void {
    this.epoch++;
    this.phase = IGNORING;
  }

  /** Whether the message ended (read through a getter: inside push()'s switch the compiler would narrow the phase). */
  private get ended(): boolean {
    return this.phase === ENDED;
  }

  private fail(problem: string): string {
    this.phase = IGNORING;
    this.pushProblem = problem;
    return problem;
  }

  private failAt(problem: string): number {
    this.fail(problem);
    return -1;
  }

  private startHead(): void {
    this.head.reset();
    this.headBytes = 0;
    this.headPartial = '';
  }

  /**
   * The common case: a head that starts at `offset` and ends in this read. One search for the
   * empty line, one latin1 string, its lines checked in place. Anything else (the head goes
   * on in the next read, or it is over the limit) goes line by line.
   */
  private readWholeHead(chunk: Buffer, offset: number): number {
    const available = chunk.length - offset;
    // Most heads end in the first KiB: decoding it and searching the string is one call into
    // C++ instead of two (Buffer#indexOf, then the decoding).
    let text = (chunk as Latin1Slicer).latin1Slice(offset, offset + (available < HEAD_WINDOW ? available : HEAD_WINDOW));
    let emptyLine = text.indexOf('\r\n\r\n');
    if (emptyLine < 0 && available > HEAD_WINDOW) {
      emptyLine = chunk.indexOf(CRLF_CRLF, offset);
      if (emptyLine >= 0) {
        emptyLine -= offset;
        if (emptyLine + 4 <= this.maxHeadBytes) text = (chunk as Latin1Slicer).latin1Slice(offset, offset + emptyLine + 4);
      }
    }
    if (emptyLine < 0 || emptyLine + 4 > this.maxHeadBytes) return this.readHeadLines(chunk, offset);
    const head = this.head;
    let start = 0;
    for (;;) {
      const lf = text.indexOf('\n', start);
      const line = head.line(text, start, lf);
      if (line === LINE_PROBLEM) return this.failAt(head.problem);
      if (line === HEAD_COMPLETE) return this.headComplete(offset + emptyLine + 4);
      start = lf + 1;
    }
  }

  /**
   * A head spread over reads: each line checked as it completes, the size counted as lines
   * come. The read is decoded once (no more of it than could still be head, and a byte more to
   * tell an overflow); the start of a line it ends in waits in headPartial.
   */
  private readHeadLines(chunk: Buffer, offset: number): number {
    const limit = this.maxHeadBytes;
    const head = this.head;
    const end = Math.min(chunk.length, offset + limit - this.headBytes - this.headPartial.length + 1);
    const piece = (chunk as Latin1Slicer).latin1Slice(offset, end);
    let start = 0;
    for (;;) {
      const lf = piece.indexOf('\n', start);
      const partial = this.headPartial;
      const taken = (lf < 0 ? piece.length : lf + 1) - start;
      if (this.headBytes + partial.length + taken > limit) return this.failAt(headTooLarge(limit));
      if (lf < 0) {
        this.headPartial = partial + piece.slice(start);
        return end;
      }
      let line;
      if (partial === '') {
        this.headBytes += taken;
        line = head.line(piece, start, lf);
      } else {
        const text = partial + piece.slice(start, lf + 1);
        this.headPartial = '';
        this.headBytes += text.length;
        line = head.line(text, 0, text.length - 1);
      }
      if (line === LINE_PROBLEM) return this.failAt(head.problem);
      start = lf + 1;
      if (line === HEAD_COMPLETE) return this.headComplete(offset + start);
    }
  }

  /** A head is in: an interim one is passed on, a final one decides how the body is read. Returns where reading goes on. */
  private headComplete(offset: number): number {
    const head = this.head;
    const epoch = this.epoch;
    const framingProblem = framingProblemOf(head);
    if (framingProblem !== null) return this.failAt(framingProblem);
    const statusCode = head.statusCode;
    if (statusCode < 200) {
      // HTTP/1.0 has no interim answers (RFC 9110 section 15.2); Node's parser takes one as the end of the connection.
      if (head.httpVersion === '1.0') return this.failAt(H1_PROBLEMS.interimInHttp10);
      this.sink.onInterim(statusCode, head.headers);
      if (this.epoch !== epoch) return -1;
      // 101: what follows is another protocol, which the gateway does not carry.
      if (statusCode === 101) {
        this.phase = IGNORING;
        return -1;
      }
      this.startHead();
      return offset;
    }
    let body: number | 'chunked' | 'until-close';
    if (this.method === 'HEAD' || statusCode === 204 || statusCode === 304) body = 0;
    else if (head.transferEncodingCount > 0) body = 'chunked';
    else if (head.contentLengthCount > 0) body = head.contentLengthValue;
    else body = 'until-close';
    const keepAlive = body !== 'until-close' && persists(head);
    this.sink.onHead({ statusCode, statusMessage: head.statusMessage, httpVersion: head.httpVersion, headers: head.headers, keepAlive, body });
    if (this.epoch !== epoch) return -1;
    if (body === 0) {
      // push() calls onEnd with the bytes after `offset`.
      this.phase = ENDED;
      return offset;
    }
    if (body === 'chunked') {
      if (this.chunkedDecoder === null) this.chunkedDecoder = new ChunkedBodyDecoder(this.maxHeadBytes, (data) => this.body(data));
      else this.chunkedDecoder.reset();
      this.phase = CHUNKED;
    } else if (body === 'until-close') {
      this.phase = UNTIL_CLOSE;
    } else {
      this.remaining = body;
      this.phase = LENGTH;
    }
    return offset;
  }

  /** Body data out; false when the sink stopped or restarted the parser from the callback. */
  private body(data: Buffer): boolean {
    const epoch = this.epoch;
    this.sink.onBody(data);
    return this.epoch === epoch;
  }

  /** The message is complete, `trailing` bytes after it in this push. */
  private finish(trailing: number): null {
    this.phase = ENDED;
    this.sink.onEnd(trailing);
    return null;
  }
}
