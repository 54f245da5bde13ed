import { FieldLineBounds, isFold, scanFieldLine } from './field-line.js';
import { H1_PROBLEMS, trailersTooLarge } from './problems.js';

/** The longest chunk-size line taken (size, extensions, CRLF): extensions are ignored, so they need not be long. */
export const MAX_CHUNK_SIZE_LINE_BYTES = 4096;

/** What {@link ChunkedBodyDecoder.decode} returns when it met a problem ({@link ChunkedBodyDecoder.problem}). */
export const CHUNKED_PROBLEM = -1;
/** What {@link ChunkedBodyDecoder.decode} returns when the sink stopped the parser from a body callback. */
export const CHUNKED_STOPPED = -2;

const SIZE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILERS = 4;
const DONE = 5;

const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;
/** 16 hex digits: 2^64 - 1 at most, leading zeros allowed; the value must also fit in 2^53 - 1. */
const MAX_SIZE_DIGITS = 16;

/**
 * `*( ";" token [ "=" ( token / quoted-string ) ] )` with no whitespace: RFC 9112 section 7.1.1
 * allows BWS around `;` and `=`, but Node's parser (llhttp, strict) rejects whitespace there
 * and the gateway must be at least as strict: two parsers that disagree on where a chunk ends
 * is how responses get smuggled.
 */
const CHUNK_EXTENSIONS = /^(?:;[-!#$%&'*+.^_`|~0-9A-Za-z]+(?:=(?:[-!#$%&'*+.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*$/;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;
for (let i = 10; i < 16; i++) HEX['ABCDEF'.charCodeAt(i - 10)] = i;

/**
 * Decodes a chunked body (RFC 9112 section 7.1) incrementally: data comes out as subarrays
 * of the pushed buffers (no copy); chunk-size lines and trailer lines spread over several
 * reads are gathered first (bounded). Trailer fields are checked as header fields are, counted
 * against the head limit, and dropped: the gateway re-frames the body and does not forward them.
 */
export class ChunkedBodyDecoder {
  /** The problem phrase after {@link CHUNKED_PROBLEM}. */
  problem = '';
  private state: number = SIZE;
  private remaining = 0;
  /** The start of a chunk-size line that a read ended in. */
  private sizeLineParts: Buffer[] = [];
  private sizeLineBytes = 0;
  /** The start of a trailer line that a read ended in (latin1), and the trailer bytes so far. */
  private trailerPartial = '';
  private trailerBytes = 0;
  private readonly bounds = new FieldLineBounds();

  /**
   * @param maxTrailerBytes the limit of the trailer section (its lines and the final CRLF).
   * @param emit takes body data; returns false when the parser must stop at once.
   */
  constructor(
    private readonly maxTrailerBytes: number,
    private readonly emit: (data: Buffer) => boolean,
  ) {}

  /** Ready for a new body. */
  reset(): void {
    this.state = SIZE;
    this.problem = '';
    this.sizeLineParts = [];
    this.sizeLineBytes = 0;
    this.trailerPartial = '';
    this.trailerBytes = 0;
  }

  /** Whether the last chunk and the trailer section are in. */
  get complete(): boolean {
    return this.state === DONE;
  }

  /**
   * Decodes `chunk` from `offset`. Returns the index just past the body once it is complete
   * ({@link complete}), `chunk.length` when it needs more, or {@link CHUNKED_PROBLEM} /
   * {@link CHUNKED_STOPPED}.
   */
  decode(chunk: Buffer, offset: number): number {
    let pos = offset;
    const length = chunk.length;
    while (pos < length) {
      switch (this.state) {
        case SIZE:
          pos = this.sizeLine(chunk, pos);
          break;
        case DATA: {
          const take = Math.min(this.remaining, length - pos);
          this.remaining -= take;
          if (this.remaining === 0) this.state = DATA_CR;
          pos += take;
          if (!this.emit(take === length ? chunk : chunk.subarray(pos - take, pos))) return CHUNKED_STOPPED;
          break;
        }
        case DATA_CR:
          if (chunk[pos++] !== CR) return this.fail(H1_PROBLEMS.chunkFraming);
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (chunk[pos++] !== LF) return this.fail(H1_PROBLEMS.chunkFraming);
          this.state = SIZE;
          break;
        case TRAILERS:
          pos = this.trailerLines(chunk, pos);
          if (this.complete) return pos;
          break;
        default:
          return pos;
      }
      if (pos < 0) return pos;
    }
    return pos;
  }

  /** Reads (or gathers) a chunk-size line from `pos`; returns where reading goes on. */
  private sizeLine(chunk: Buffer, pos: number): number {
    if (this.sizeLineBytes === 0) {
      // The common line, hex digits and CRLF in this read, read in place (no search, no string);
      // anything else (extensions, a line cut by the read, a fault) takes the general path below.
      const stop = Math.min(chunk.length, pos + MAX_SIZE_DIGITS);
      let size = 0;
      let i = pos;
      for (; i < stop; i++) {
        const digit = HEX[chunk[i] as number] as number;
        if (digit < 0) break;
        size = size * 16 + digit;
      }
      if (i > pos && i + 1 < chunk.length && chunk[i] === CR && chunk[i + 1] === LF && size <= Number.MAX_SAFE_INTEGER) {
        this.sized(size);
        return i + 2;
      }
    }
    const lf = chunk.indexOf(LF, pos);
    const taken = (lf < 0 ? chunk.length : lf + 1) - pos;
    if (this.sizeLineBytes + taken > MAX_CHUNK_SIZE_LINE_BYTES) return this.fail(H1_PROBLEMS.chunkSizeLineTooLong);
    if (lf < 0) {
      this.sizeLineParts.push(chunk.subarray(pos));
      this.sizeLineBytes += taken;
      return chunk.length;
    }
    if (this.sizeLineBytes === 0) return this.parseSizeLine(chunk, pos, lf) ? lf + 1 : CHUNKED_PROBLEM;
    this.sizeLineParts.push(chunk.subarray(pos, lf + 1));
    const line = Buffer.concat(this.sizeLineParts);
    this.sizeLineParts = [];
    this.sizeLineBytes = 0;
    return this.parseSizeLine(line, 0, line.length - 1) ? lf + 1 : CHUNKED_PROBLEM;
  }

  /** `1*16HEXDIG [ chunk-ext ] CRLF` in `line[start, lf]`; sets the next state. */
  private parseSizeLine(line: Buffer, start: number, lf: number): boolean {
    const end = lf - 1;
    if (end < start || line[end] !== CR) return this.failed(H1_PROBLEMS.chunkFraming);
    let size = 0;
    let i = start;
    for (; i < end; i++) {
      const digit = HEX[line[i] as number] as number;
      if (digit < 0) break;
      size = size * 16 + digit;
    }
    const digits = i - start;
    if (digits === 0 || digits > MAX_SIZE_DIGITS || size > Number.MAX_SAFE_INTEGER) return this.failed(H1_PROBLEMS.chunkFraming);
    if (i < end && (line[i] !== SEMICOLON || !CHUNK_EXTENSIONS.test(line.toString('latin1', i, end)))) return this.failed(H1_PROBLEMS.chunkFraming);
    this.sized(size);
    return true;
  }

  /** A chunk-size line read: its data next, or the trailer section after the last chunk. */
  private sized(size: number): void {
    if (size === 0) {
      this.state = TRAILERS;
    } else {
      this.state = DATA;
      this.remaining = size;
    }
  }

  /** Reads trailer lines from `pos` up to the empty line; returns where reading goes on. */
  private trailerLines(chunk: Buffer, pos: number): number {
    const limit = this.maxTrailerBytes;
    // The common case: no trailer, the empty line right there.
    if (this.trailerBytes === 0 && this.trailerPartial === '' && chunk[pos] === CR && chunk[pos + 1] === LF && limit >= 2) {
      this.state = DONE;
      return pos + 2;
    }
    for (;;) {
      const lf = chunk.indexOf(LF, pos);
      const taken = (lf < 0 ? chunk.length : lf + 1) - pos;
      if (this.trailerBytes + this.trailerPartial.length + taken > limit) return this.fail(trailersTooLarge(limit));
      if (lf < 0) {
        this.trailerPartial += chunk.toString('latin1', pos);
        return chunk.length;
      }
      const line = this.trailerPartial + chunk.toString('latin1', pos, lf + 1);
      this.trailerPartial = '';
      this.trailerBytes += line.length;
      pos = lf + 1;
      const end = line.length - 2;
      if (end < 0 || line.charCodeAt(end) !== CR) return this.fail(H1_PROBLEMS.chunkFraming);
      if (end === 0) {
        this.state = DONE;
        return pos;
      }
      if (isFold(line.charCodeAt(0)) || !scanFieldLine(line, 0, end, this.bounds)) return this.fail(H1_PROBLEMS.trailerFieldLine);
    }
  }

  private fail(problem: string): number {
    this.problem = problem;
    return CHUNKED_PROBLEM;
  }

  private failed(problem: string): false {
    this.problem = problem;
    return false;
  }
}
