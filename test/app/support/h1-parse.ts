import type { IncomingHttpHeaders } from 'node:http';
import { H1ResponseParser, type H1ResponseHead, type H1ResponseSink } from '../../../src/app/upstream/h1/response-parser.js';

/**
 * What an H1ResponseParser made of an answer, in a form that does not depend on how the bytes
 * were split into pushes: the body joined, the end as an offset into the whole answer.
 */
export interface ParseOutcome {
  interims: Array<[number, IncomingHttpHeaders]>;
  head: H1ResponseHead | null;
  /** The body bytes (latin1), all onBody chunks joined. */
  body: string;
  /** Where the message ended in the whole answer (bytes read), or null if it did not. */
  endedAt: number | null;
  /** The problem a push returned, or null. */
  problem: string | null;
  /** What end() returned when `eof` was asked for and the parser was still reading, else undefined. */
  eof?: string | null;
}

/** How to feed an answer: whole, one byte per push, or cut at the given offsets. */
export type Feeding = 'whole' | 'bytes' | readonly number[];

/** Cuts `bytes` as `feeding` says, each piece in a buffer of its own (with room around it, so that a copy would show). */
export function pieces(bytes: Buffer, feeding: Feeding): Buffer[] {
  const cuts = feeding === 'whole' ? [] : feeding === 'bytes' ? Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => i + 1) : feeding;
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut < from) continue;
    const room = Buffer.alloc(cut - from + 4, 0x7e);
    bytes.copy(room, 2, from, cut);
    out.push(room.subarray(2, 2 + cut - from));
    from = cut;
  }
  return out;
}

/**
 * Parses `bytes` as the answer to `method`, fed as `feeding` says, stopping the pushes at the
 * end of the message or at a problem (as a client does), then calling end() when `eof`.
 * Checks on the way that every body chunk is a view of a pushed buffer (no copy).
 */
export function parseAnswer(bytes: Buffer, options: { method?: string; feeding?: Feeding; eof?: boolean; maxHeadBytes?: number } = {}): ParseOutcome {
  const outcome: ParseOutcome = { interims: [], head: null, body: '', endedAt: null, problem: null };
  let pushed = 0;
  let current: Buffer = Buffer.alloc(0);
  let ended = false;
  const sink: H1ResponseSink = {
    onInterim: (statusCode, headers) => outcome.interims.push([statusCode, headers]),
    onHead: (head) => {
      outcome.head = head;
    },
    onBody: (chunk) => {
      if (chunk.buffer !== current.buffer || chunk.byteOffset < current.byteOffset || chunk.byteOffset + chunk.length > current.byteOffset + current.length) {
        throw new Error('a body chunk is not a view of the pushed buffer');
      }
      if (chunk.length === 0) throw new Error('an empty body chunk');
      outcome.body += chunk.toString('latin1');
    },
    onEnd: (trailingBytes) => {
      ended = true;
      outcome.endedAt = pushed - trailingBytes;
    },
  };
  const parser = new H1ResponseParser(sink, options.maxHeadBytes === undefined ? undefined : { maxHeadBytes: options.maxHeadBytes });
  parser.expect(options.method ?? 'GET');
  for (const piece of pieces(bytes, options.feeding ?? 'whole')) {
    current = piece;
    pushed += piece.length;
    const problem = parser.push(piece);
    if (problem !== null) {
      outcome.problem = problem;
      break;
    }
    if (ended || outcome.interims.some(([code]) => code === 101)) break;
  }
  if (options.eof === true && !ended && outcome.problem === null) outcome.eof = parser.end();
  return outcome;
}

/** Every way the tests feed an answer: whole, byte by byte, and cut in two at every offset (at most `maxCuts` of them, spread evenly, for long answers). */
export function feedings(length: number, maxCuts = 400): Feeding[] {
  const step = Math.max(1, Math.ceil(length / maxCuts));
  const cuts: Feeding[] = [];
  for (let at = 1; at < length; at += step) cuts.push([at]);
  if (length > 1) cuts.push([length - 1]);
  return ['whole', 'bytes', ...cuts];
}
