import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { H1_PROBLEMS, headTooLarge } from '../../src/app/upstream/h1/problems.js';
import { DEFAULT_MAX_HEAD_BYTES } from '../../src/app/upstream/h1/response-parser.js';
import { SeededRandom } from '../support/seeded-random.js';
import { parseAnswer, type ParseOutcome } from './support/h1-parse.js';

/**
 * The gateway's response parser against Node's own HTTP client (llhttp, strict), on the same
 * bytes sent by a real upstream over loopback: whenever Node takes an answer, the parser takes
 * it the same way (status, reason, headers, body, interim answers) or refuses it for one of the
 * deliberate strictnesses below; whenever Node refuses one (an error, or a close before the
 * end), the parser refuses it or never completes it.
 */

/** What Node's client made of an answer. */
type NodeOutcome =
  | { accepted: true; statusCode: number; statusMessage: string; headers: http.IncomingHttpHeaders; body: string; interims: Array<[number, http.IncomingHttpHeaders]> }
  | { accepted: false; why: string };

/**
 * Where the parser is stricter than Node on purpose: the problems it names (null: it read a 101
 * and stopped), and a check, independent of the parser, that the answer does break the rule.
 */
/** The major version of the Node running the test: what its llhttp takes changed between 20 and 24. */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

const STRICTER: ReadonlyArray<{
  rule: string;
  why: string;
  problems: ReadonlyArray<string | null>;
  holds: (answer: string) => boolean;
  /** The first Node major known to take such answers (the rule is met only there); every Node when absent. */
  sinceNode?: number;
}> = [
  {
    rule: 'every status line is `HTTP/1.1` or `HTTP/1.0`, SP, a status of 100-999, then CRLF or SP and a reason of HTAB/SP/VCHAR/obs-text',
    why: 'Node also takes statuses below 100, HTTP/0.9 and HTTP/2.0, empty lines (CRLF or a bare LF) before a status line and control characters (DEL, 0x01...) in the reason: none is an HTTP/1.1 answer, and the gateway writes the reason on to its client',
    problems: [H1_PROBLEMS.statusLine, H1_PROBLEMS.notCrlf],
    holds: (answer) => statusLines(answer).some((line) => !/^HTTP\/1\.[01] [1-9][0-9]{2}(?: [\t\x20-\x7e\x80-\xff]*)?\r\n$/.test(line)),
  },
  {
    rule: 'a 101 ends HTTP/1.1 on the connection: the parser passes it on as an interim answer and reads nothing after it',
    why: 'Node, with no Upgrade field or no upgrade listener, takes a 101 as a final answer (and may read an answer after it); the gateway does not carry other protocols and must not forward a 101 as a final answer',
    problems: [null],
    holds: (answer) => statusLines(answer).some((line) => /^HTTP\/1\.1 101/.test(line)),
  },
  {
    rule: 'Transfer-Encoding, when present, is one field of exactly `chunked` (OWS before it, SP after it)',
    why: 'Node reads `gzip` until the close and decodes `gzip, chunked` or `chunked, chunked` as chunked; the gateway re-frames bodies and cannot carry a transfer coding, so it refuses rather than forward a body coded otherwise than it says. Node reads `chunked<HTAB>` until the close: refused too, so that the two never frame an answer two ways',
    problems: [H1_PROBLEMS.notChunked],
    holds: (answer) => {
      const codings = fieldValues(answer, 'transfer-encoding');
      return codings.length > 1 || (codings.length === 1 && !/^chunked *$/i.test(codings[0] as string));
    },
  },
  {
    rule: 'a Content-Length value is digits, with SP but no HTAB after them',
    why: 'Node 20 refuses `Content-Length: 2<HTAB>`, Node 24 takes it (its llhttp changed): the parser refuses it on both, so that the gateway frames an answer the same way whatever Node it runs on, and never otherwise than Node 20',
    problems: [H1_PROBLEMS.lengthNotANumber],
    holds: (answer) => fieldValues(answer, 'content-length').some((value) => /^[0-9]+[ \t]*\t[ \t]*$/.test(value)),
    sinceNode: 24,
  },
  {
    rule: 'a chunk size has at most 16 hex digits',
    why: 'Node takes any number of leading zeros; the parser bounds the line it gathers (a size of 2^53 or more is refused by both)',
    problems: [H1_PROBLEMS.chunkFraming],
    holds: (answer) => chunkSizeLines(answer).some((line) => /^[0-9a-fA-F]{17,}/.test(line)),
  },
  {
    rule: 'chunk extensions are `;name` or `;name=value` (a token or a quoted string), with no whitespace',
    why: 'Node also takes an empty value (`;name=`); the gateway drops extensions, so it takes only their plain form',
    problems: [H1_PROBLEMS.chunkFraming],
    holds: (answer) => chunkSizeLines(answer).some((line) => !/^[0-9a-fA-F]+(?:;[-!#$%&'*+.^_`|~0-9A-Za-z]+(?:=(?:[-!#$%&'*+.^_`|~0-9A-Za-z]+|"(?:[\t !#-[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"))?)*$/.test(line)),
  },
  {
    rule: `the head, counted from the status line to the empty line inclusive, is at most ${DEFAULT_MAX_HEAD_BYTES} bytes`,
    why: "Node's maxHeaderSize leaves some of the head's bytes out of its count (it took a 16,400-byte head here); the parser counts them all",
    problems: [headTooLarge(DEFAULT_MAX_HEAD_BYTES)],
    holds: (answer) => {
      const end = answer.indexOf('\r\n\r\n');
      return (end < 0 ? answer.length : end + 4) > DEFAULT_MAX_HEAD_BYTES;
    },
  },
];

/** The status lines of the answer's heads, the interim ones and the final one (found without the parser, up to the first that is not interim). */
function statusLines(answer: string): string[] {
  const lines: string[] = [];
  let pos = 0;
  for (;;) {
    const lf = answer.indexOf('\n', pos);
    lines.push(answer.slice(pos, lf + 1));
    const interim = /^HTTP\/1\.[01] 1(?!01)/.test(answer.slice(pos, lf + 1));
    const end = answer.indexOf('\r\n\r\n', pos);
    if (lf < 0 || !interim || end < 0) return lines;
    pos = end + 4;
  }
}

/** The values of field `name` in the answer's (first) head, found without the parser: OWS before them left out, whitespace after them kept. */
function fieldValues(answer: string, name: string): string[] {
  const head = answer.slice(0, Math.max(0, answer.indexOf('\r\n\r\n')));
  return head
    .split('\r\n')
    .slice(1)
    .map((line) => /^([^:]*):[ \t]*(.*)$/s.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && (match[1] as string).toLowerCase() === name)
    .map((match) => match[2] as string);
}

/** The chunk-size lines of a chunked answer, walked without the parser (as far as they make sense). */
function chunkSizeLines(answer: string): string[] {
  const lines: string[] = [];
  let pos = answer.indexOf('\r\n\r\n');
  if (pos < 0) return lines;
  pos += 4;
  while (pos < answer.length) {
    const end = answer.indexOf('\r\n', pos);
    if (end < 0) break;
    const line = answer.slice(pos, end);
    lines.push(line);
    const size = Number.parseInt(/^[0-9a-fA-F]+/.exec(line)?.[0] ?? '', 16);
    if (!(size > 0) || !Number.isSafeInteger(size)) break;
    pos = end + 2 + size + 2;
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The corpus.

/** Valid answers of every framing. */
const VALID: readonly string[] = [
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 03 Dec 2026 08:00:00 GMT\r\nX-Request-Id: 42\r\nServer: upstream\r\nContent-Length: 12\r\n\r\nhello world\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n7\r\n{"a":1}\r\n3;ext=1;q="x y"\r\n[1]\r\n0\r\nServer-Timing: db;dur=53\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n1\r\n\n\r\n0\r\n\r\n',
  'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n1;a\r\n{\r\nf\r\n"k":"0123456789"\r\n1\r\n}\r\n0\r\nX-Sum: 9\r\nX-More: a, b\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close\r\n\r\nand more',
  'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.0 200 OK\r\n\r\nhttp/1.0 until close',
  'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 100\r\n\r\n',
  'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found',
  'HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 302\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /1\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nCookie: c\r\nCookie: d\r\nVary: a\r\nVary: b\r\nServer: s1\r\nServer: s2\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 \xc7a va\r\nX-Latin: caf\xe9\r\nX-Tabs:\ta\tb\t\r\nX-Empty:\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\nContent-Length: 00003\r\n\r\nabc',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n000002\r\nok\r\n0\r\n\r\n',
  `HTTP/1.1 200 OK\r\n${Array.from({ length: 40 }, (_, i) => `X-Field-${i}: value ${i}`).join('\r\n')}\r\nContent-Length: 4\r\n\r\nmany`,
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno',
  'HTTP/1.1 999 Whatever\r\nContent-Length: 1\r\n\r\n!',
];

/** The answers of test/gateway-security/malicious-upstream.test.ts (the same bytes). */
const MALICIOUS: readonly string[] = [
  'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\nBYTES OF ANOTHER PROTOCOL',
  'HTTP/1.1 102 Processing\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\n'.repeat(50),
  'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n'.repeat(20),
  'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok',
  'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 <script>\x7f\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad: a\x01b\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{"target":"/EVIL"}\n',
];

/** Answers on which the parser is stricter than Node on purpose: one for each of STRICTER at least. */
const DISAGREEING: readonly string[] = [
  'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nokok',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000002\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(16_390 - 29)}\r\n\r\n`,
];

/** Answers Node refuses (the parser must too): a few edges of the grammar. */
const EDGES: readonly string[] = [
  'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;a\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\nok\r\n0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nBad T: x\r\n\r\n',
  `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`,
  'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
  'HTTP/1.1 200 OK\r\nX : y\r\nContent-Length: 2\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok',
  'HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nok',
  'HTTP/1.0 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
];

/** Bytes the mutations put in. */
const INSERTED = ['\r', '\n', ' ', '\t', '\x00', ':', ',', ';', '"', '0', '9', 'a', 'F', '\x7f', '\x80', '\xff', '-', '+', '\r\n'];

/** A seeded, deterministic mutation of a valid answer: flipped, inserted or removed bytes, duplicated or removed lines, changed digits. */
function mutate(random: SeededRandom, answer: string): string {
  const pick = <T>(items: readonly T[]): T => items[random.int(0, items.length - 1)] as T;
  const at = random.int(0, answer.length - 1);
  const lines = answer.split('\r\n');
  const line = random.int(0, Math.max(0, lines.length - 2));
  switch (random.int(0, 5)) {
    case 0:
      return answer.slice(0, at) + pick(INSERTED) + answer.slice(at + 1);
    case 1:
      return answer.slice(0, at) + pick(INSERTED) + answer.slice(at);
    case 2:
      return answer.slice(0, at) + answer.slice(at + 1);
    case 3:
      return [...lines.slice(0, line + 1), lines[line], ...lines.slice(line + 1)].join('\r\n');
    case 4:
      return [...lines.slice(0, line), ...lines.slice(line + 1)].join('\r\n');
    default: {
      const digits = [...answer.matchAll(/[0-9]/g)].map((match) => match.index);
      if (digits.length === 0) return answer;
      const digit = pick(digits);
      return answer.slice(0, digit) + String(random.int(0, 9)) + answer.slice(digit + 1);
    }
  }
}

function fuzzCorpus(seed: number, count: number): string[] {
  const random = new SeededRandom(seed);
  const cases: string[] = [];
  for (let i = 0; i < count; i++) {
    let answer = VALID[random.int(0, VALID.length - 1)] as string;
    const mutations = random.int(1, 2);
    for (let m = 0; m < mutations; m++) answer = mutate(random, answer);
    cases.push(answer);
  }
  return cases;
}

const FUZZ_SEED = 0x15_0007;
const CORPUS: readonly string[] = [...VALID, ...MALICIOUS, ...DISAGREEING, ...EDGES, ...fuzzCorpus(FUZZ_SEED, 400)];

// ---------------------------------------------------------------------------------------------
// Node's reading, through a real upstream.

let upstream: net.Server;
let port = 0;
/** What the upstream answers: GET /<index> gets served[index]. */
let served: readonly string[] = [];

beforeAll(async () => {
  // Answers GET /<index> with served[index], in one write, then closes its side.
  upstream = net.createServer((socket) => {
    socket.on('error', () => {
      // The client may reset the connection when it refuses an answer mid-write.
    });
    let request = '';
    socket.on('data', (data) => {
      if (request.includes('\r\n\r\n')) return;
      request += data.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      const index = Number(/^GET \/(\d+) /.exec(request)?.[1]);
      socket.end(Buffer.from(served[index] ?? '', 'latin1'));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  port = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

function nodeReads(index: number): Promise<NodeOutcome> {
  return new Promise((resolve) => {
    const interims: Array<[number, http.IncomingHttpHeaders]> = [];
    const request = http.get({ host: '127.0.0.1', port, path: `/${index}`, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let ended = false;
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        ended = true;
        resolve({ accepted: true, statusCode: response.statusCode as number, statusMessage: response.statusMessage as string, headers: response.headers, body: Buffer.concat(chunks).toString('latin1'), interims });
      });
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ accepted: false, why: `response ${error.code ?? error.message}` }));
      response.on('close', () => {
        if (!ended) resolve({ accepted: false, why: 'closed before the end of the body' });
      });
    });
    request.on('information', (info: http.InformationEvent) => interims.push([info.statusCode, info.headers]));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ accepted: false, why: `${error.code ?? ''} ${error.message}` }));
    request.on('close', () => {
      // Without a response, and without an error (a 101 answered with no 'upgrade' listener on older Nodes).
      setImmediate(() => resolve({ accepted: false, why: 'closed without an answer' }));
    });
  });
}

/** What Node makes of each of `answers`, 8 at a time. */
async function nodeReadsAll(answers: readonly string[]): Promise<NodeOutcome[]> {
  served = answers;
  const outcomes: NodeOutcome[] = new Array<NodeOutcome>(answers.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < answers.length) {
      const index = next++;
      outcomes[index] = await nodeReads(index);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return outcomes;
}

function accepted(outcome: ParseOutcome): boolean {
  return outcome.problem === null && outcome.endedAt !== null;
}

describe('H1ResponseParser against the node:http client, on the same bytes from a real upstream', () => {
  it(`agrees on ${CORPUS.length} answers: valid ones, malicious ones, and ${400} seeded mutations (seed ${FUZZ_SEED})`, async () => {
    const node = await nodeReadsAll(CORPUS);
    const tally = { bothTake: 0, bothRefuse: 0, trailing: 0, stricter: new Map<string, number>() };
    /** Answers the parser took with bytes after them, which Node refused: the parser's part is checked alone below. */
    const delimited: Array<{ where: string; message: string; ours: ParseOutcome }> = [];
    for (const [index, answer] of CORPUS.entries()) {
      const bytes = Buffer.from(answer, 'latin1');
      const ours = parseAnswer(bytes, { eof: true });
      const where = `answer #${index}: ${JSON.stringify(answer.length > 300 ? `${answer.slice(0, 300)}...` : answer)}`;
      // The split does not matter (checked at length by the unit tests; here on the fuzz too).
      expect(parseAnswer(bytes, { eof: true, feeding: 'bytes' }), where).toEqual(ours);
      const theirs = node[index] as NodeOutcome;
      if (!theirs.accepted) {
        // Bytes after a complete answer are the caller's (onEnd(trailingBytes): the gateway forwards
        // the answer and discards the connection); Node's parser reads on into them and may fail there.
        if (accepted(ours) && (ours.endedAt as number) < bytes.length) {
          delimited.push({ where, message: answer.slice(0, ours.endedAt as number), ours });
          continue;
        }
        expect(accepted(ours), `${where}: Node refused it (${theirs.why}), the parser took it`).toBe(false);
        tally.bothRefuse++;
        continue;
      }
      if (accepted(ours)) {
        expect({ statusCode: ours.head?.statusCode, statusMessage: ours.head?.statusMessage, headers: ours.head?.headers, body: ours.body, interims: ours.interims }, where).toEqual({
          statusCode: theirs.statusCode,
          statusMessage: theirs.statusMessage,
          headers: theirs.headers,
          body: theirs.body,
          interims: theirs.interims,
        });
        tally.bothTake++;
        continue;
      }
      const exception = STRICTER.find((rule) => rule.problems.includes(ours.problem) && rule.holds(answer));
      expect(exception, `${where}: Node took it, the parser refused it (${String(ours.problem)}), and no deliberate strictness explains it`).toBeDefined();
      tally.stricter.set(exception?.rule as string, (tally.stricter.get(exception?.rule as string) ?? 0) + 1);
    }
    // Where the parser saw the end of an answer, Node reads the bytes up to there alone as the same answer.
    const alone = await nodeReadsAll(delimited.map(({ message }) => message));
    for (const [index, { where, ours }] of delimited.entries()) {
      const theirs = alone[index] as NodeOutcome;
      expect(theirs.accepted ? { statusCode: theirs.statusCode, statusMessage: theirs.statusMessage, headers: theirs.headers, body: theirs.body, interims: theirs.interims } : theirs, `${where}, up to the end the parser saw`).toEqual({
        statusCode: ours.head?.statusCode,
        statusMessage: ours.head?.statusMessage,
        headers: ours.head?.headers,
        body: ours.body,
        interims: ours.interims,
      });
      tally.trailing++;
    }
    // The comparison has substance: many answers on each side, and every listed strictness met.
    expect(tally.bothTake).toBeGreaterThan(100);
    expect(tally.bothRefuse).toBeGreaterThan(100);
    expect(tally.trailing).toBeGreaterThan(5);
    // Each listed strictness met, those that depend on Node's version where it is known to take such answers.
    const required = STRICTER.filter((rule) => rule.sinceNode === undefined || NODE_MAJOR >= rule.sinceNode).map((rule) => rule.rule);
    expect([...tally.stricter.keys()]).toEqual(expect.arrayContaining(required));
  });
});
