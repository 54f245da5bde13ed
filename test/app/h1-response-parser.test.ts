import { describe, expect, it } from 'vitest';
import { H1_PROBLEMS } from '../../src/app/upstream/h1/problems.js';
import { DEFAULT_MAX_HEAD_BYTES, H1ResponseParser, type H1ResponseSink } from '../../src/app/upstream/h1/response-parser.js';
import { feedings, parseAnswer, type ParseOutcome } from './support/h1-parse.js';

const COMMON = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 03 Dec 2026 08:00:00 GMT\r\nX-Request-Id: 42\r\nServer: upstream\r\nContent-Length: 12\r\n\r\nhello world\n';

const UNTIL_CLOSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this\r\n\r\nand this';
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: \tChunked \r\n\r\n5\r\nhello\r\nA;name=value;flag;q="a \\"b\\"\tc"\r\n 0123456\r\n\r\n0000000000000003\r\nabc\r\n0;last\r\nTrailer-A: 1\r\nTrailer-B:\r\n\r\n';
const INTERIMS = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

interface Case {
  readonly answer: string;
  readonly method?: string;
  readonly eof?: boolean;
  readonly maxHeadBytes?: number;
  /** What the whole answer parses to (the fields left out are not checked here). */
  readonly expected: Omit<Partial<ParseOutcome>, 'head'> & { head?: Record<string, unknown> | null };
}

function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** Answers the parser takes, with what it makes of them. */
const ACCEPTED: Record<string, Case> = {
  'the common answer': {
    answer: COMMON,
    expected: {
      head: {
        statusCode: 200, statusMessage: 'OK', httpVersion: '1.1', keepAlive: true, body: 12,
        headers: { 'content-type': 'text/plain', date: 'Thu, 03 Dec 2026 08:00:00 GMT', 'x-request-id': '42', server: 'upstream', 'content-length': '12' },
      },
      body: 'hello world\n', endedAt: COMMON.length, problem: null,
    },
  },
  'no reason phrase': { answer: 'HTTP/1.1 204\r\n\r\n', expected: { head: { statusCode: 204, statusMessage: '', body: 0 }, endedAt: 16 } },
  'an empty reason phrase': { answer: 'HTTP/1.1 204 \r\n\r\n', expected: { head: { statusCode: 204, statusMessage: '', body: 0 }, endedAt: 17 } },
  'a reason phrase with spaces, tabs and obs-text': {
    answer: 'HTTP/1.1 200 \xc9t\xe9\t tr\xe8s  bien \r\nContent-Length: 0\r\n\r\n',
    expected: { head: { statusMessage: '\xc9t\xe9\t tr\xe8s  bien ', body: 0 } },
  },
  'a status of 999 (the caller judges the range)': { answer: 'HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n', expected: { head: { statusCode: 999, body: 0 } } },
  'HTTP/1.0: not kept alive by default': { answer: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', expected: { head: { httpVersion: '1.0', keepAlive: false, body: 2 }, body: 'ok' } },
  'HTTP/1.0 with Connection: keep-alive': { answer: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok', expected: { head: { httpVersion: '1.0', keepAlive: true } } },
  'HTTP/1.1 with Connection: close': { answer: 'HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE\r\nContent-Length: 2\r\n\r\nok', expected: { head: { keepAlive: false, body: 2 } } },
  'HTTP/1.1 with another Connection option': { answer: 'HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n', expected: { head: { keepAlive: true } } },
  'repeated fields combined as node:http does': {
    answer: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-A: 1\r\nset-cookie: b=2\r\nCookie: c\r\nCOOKIE: d\r\nx-a: 2\r\nServer: s1\r\nServer: s2\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nLocation: /1\r\nLocation: /2\r\nContent-Length: 0\r\n\r\n',
    expected: { head: { headers: { 'set-cookie': ['a=1', 'b=2'], 'x-a': '1, 2', cookie: 'c; d', server: 's1', 'content-type': 'a/b', location: '/1', 'content-length': '0' } } },
  },
  'one Set-Cookie is an array too': { answer: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Length: 0\r\n\r\n', expected: { head: { headers: { 'set-cookie': ['a=1'], 'content-length': '0' } } } },
  'names of Object.prototype: __proto__ dropped, constructor kept, as node:http does': {
    answer: 'HTTP/1.1 200 OK\r\n__proto__: x\r\nConstructor: y\r\nconstructor: z\r\nContent-Length: 0\r\n\r\n',
    expected: { head: { headers: { constructor: 'y, z', 'content-length': '0' } } },
  },
  'OWS around values trimmed, inside kept; empty values': {
    answer: 'HTTP/1.1 200 OK\r\nX-A:\t a \tb\t \r\nX-B:\r\nX-C:   \r\nX-D: \xff\x80\r\nContent-Length: 0\r\n\r\n',
    expected: { head: { headers: { 'x-a': 'a \tb', 'x-b': '', 'x-c': '', 'x-d': '\xff\x80', 'content-length': '0' } } },
  },
  'names that differ by little kept apart (the table of names seen)': {
    answer: 'HTTP/1.1 200 OK\r\nAa: 1\r\nBB: 2\r\nAa: 3\r\nBB: 4\r\nbb: 5\r\nContent-Length: 0\r\n\r\n',
    expected: { head: { headers: { aa: '1, 3', bb: '2, 4, 5', 'content-length': '0' } } },
  },
  'one name in several cases, and a name too long to be kept in the name table': {
    answer: `HTTP/1.1 200 OK\r\nX-Case: 1\r\nx-case: 2\r\nX-CASE: 3\r\n${'N'.repeat(100)}: long\r\n${'n'.repeat(100)}: again\r\nContent-Length: 0\r\n\r\n`,
    expected: { head: { headers: { 'x-case': '1, 2, 3', ['n'.repeat(100)]: 'long, again', 'content-length': '0' } } },
  },
  'every tchar in a name': { answer: "HTTP/1.1 200 OK\r\n!#$%&'*+-.^_`|~09azAZ: v\r\nContent-Length: 0\r\n\r\n", expected: { head: { headers: { "!#$%&'*+-.^_`|~09azaz": 'v', 'content-length': '0' } } } },
  'Transfer-Encoding: chunked with spaces after it, a tab before it': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding:\tchunked  \r\n\r\n2\r\nok\r\n0\r\n\r\n', expected: { head: { body: 'chunked', headers: { 'transfer-encoding': 'chunked' } }, body: 'ok' } },
  'Content-Length with OWS and leading zeros': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: \t0002  \r\n\r\nok', expected: { head: { body: 2 }, body: 'ok' } },
  'Content-Length 0: the end at once, the bytes after it trailing': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra', expected: { head: { body: 0 }, body: '', endedAt: 38 } },
  'bytes after a Content-Length body are trailing': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n', expected: { body: 'ok', endedAt: 40 } },
  'the answer to HEAD has no body whatever the head says': { method: 'HEAD', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', expected: { head: { body: 0, keepAlive: true, headers: { 'content-length': '5' } }, endedAt: 38 } },
  'the answer to HEAD with chunked': { method: 'HEAD', answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', expected: { head: { body: 0 }, endedAt: 47 } },
  '204 with a Content-Length has no body': { answer: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', expected: { head: { body: 0 }, endedAt: 46 } },
  '304 with chunked has no body': { answer: 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n', expected: { head: { body: 0 }, endedAt: 57 } },
  'until close: keepAlive false, end() completes it': {
    answer: UNTIL_CLOSE,
    eof: true,
    expected: { head: { body: 'until-close', keepAlive: false }, body: 'all of this\r\n\r\nand this', endedAt: UNTIL_CLOSE.length, eof: null },
  },
  'chunked: chunks, upper-case hex, leading zeros, extensions, trailers': {
    answer: `${CHUNKED}extra`,
    expected: { head: { body: 'chunked', keepAlive: true }, body: 'hello 0123456\r\nabc', endedAt: CHUNKED.length },
  },
  'chunked with no data chunk': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', expected: { head: { body: 'chunked' }, body: '', endedAt: 52 } },
  'interim answers before the final one': {
    answer: INTERIMS,
    expected: { interims: [[100, {}], [103, { link: '</a.css>; rel=preload, </b.js>' }]], head: { statusCode: 200 }, body: 'ok', endedAt: INTERIMS.length },
  },
  '101: an interim head, then nothing more is read': {
    answer: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\nnot http at all\r\n\n\n',
    eof: true,
    expected: { interims: [[101, { upgrade: 'evil', connection: 'Upgrade' }]], head: null, body: '', endedAt: null, problem: null, eof: null },
  },
};

/** Answers the parser refuses, with the problem it names. */
const REFUSED: Record<string, Case & { problem: string }> = {
  'a lower-case protocol': { answer: 'http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'HTTP/2.0': { answer: 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'HTTP/1.2': { answer: 'HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'not HTTP': { answer: 'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok', problem: H1_PROBLEMS.statusLine, expected: {} },
  'two spaces before the status': { answer: 'HTTP/1.1  200 OK\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'a status of four digits': { answer: 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok', problem: H1_PROBLEMS.statusLine, expected: {} },
  'a status of two digits': { answer: 'HTTP/1.1 20\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'a status below 100': { answer: 'HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok', problem: H1_PROBLEMS.statusLine, expected: {} },
  'a status with a letter': { answer: 'HTTP/1.1 2x0 OK\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'no space between status and reason': { answer: 'HTTP/1.1 200OK\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'DEL in the reason': { answer: 'HTTP/1.1 200 <script>\x7f\r\nContent-Length: 2\r\n\r\nok', problem: H1_PROBLEMS.statusLine, expected: {} },
  'NUL in the reason': { answer: 'HTTP/1.1 200 O\x00K\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'a bare CR in the reason': { answer: 'HTTP/1.1 200 O\rK\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'an empty line before the status line': { answer: '\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', problem: H1_PROBLEMS.statusLine, expected: {} },
  'a bare LF after the status line': { answer: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', problem: H1_PROBLEMS.notCrlf, expected: {} },
  'a bare LF after a field': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\nX: y\r\n\r\nok', problem: H1_PROBLEMS.notCrlf, expected: {} },
  'a bare LF as the empty line': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok', problem: H1_PROBLEMS.notCrlf, expected: {} },
  'a bare CR in a value': { answer: 'HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'a bare CR ending a field line': { answer: 'HTTP/1.1 200 OK\r\nX: a\rContent-Length: 0\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'obs-fold': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Folded: a\r\n b\r\n\r\nok', problem: H1_PROBLEMS.obsFold, expected: {} },
  'a tab-folded first field': { answer: 'HTTP/1.1 200 OK\r\n\tX: a\r\n\r\n', problem: H1_PROBLEMS.obsFold, expected: {} },
  'a space before the colon': { answer: 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'an empty name': { answer: 'HTTP/1.1 200 OK\r\n: x\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'no colon': { answer: 'HTTP/1.1 200 OK\r\nX-A\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'a name with a separator': { answer: 'HTTP/1.1 200 OK\r\nX(A): x\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'a name with obs-text': { answer: 'HTTP/1.1 200 OK\r\nX\xe9: x\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'a control character in a value': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad: a\x01b\r\n\r\nok', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'NUL in a value': { answer: 'HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'DEL in a value': { answer: 'HTTP/1.1 200 OK\r\nX-Bad: a\x7fb\r\n\r\n', problem: H1_PROBLEMS.fieldLine, expected: {} },
  'Content-Length and Transfer-Encoding': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.bothLengthAndChunked, expected: {} },
  'Content-Length and Transfer-Encoding on a 204': { answer: 'HTTP/1.1 204 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n', problem: H1_PROBLEMS.bothLengthAndChunked, expected: {} },
  'Transfer-Encoding: gzip': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nokok', problem: H1_PROBLEMS.notChunked, expected: {} },
  'Transfer-Encoding: gzip, chunked': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.notChunked, expected: {} },
  'Transfer-Encoding twice': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.notChunked, expected: {} },
  'Transfer-Encoding: chunked and a tab (Node reads it until the close)': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n2\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.notChunked, expected: {} },
  'Content-Length and a tab (Node refuses it)': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2 \t\r\n\r\nok', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'an interim answer in HTTP/1.0': { answer: 'HTTP/1.0 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', problem: H1_PROBLEMS.interimInHttp10, expected: { interims: [] } },
  'Content-Length not a number': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'Content-Length with a sign': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'Content-Length negative': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'Content-Length with a space inside': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\nok', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'Content-Length empty': { answer: 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'Content-Length as a list of equal values (Node refuses it too)': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok', problem: H1_PROBLEMS.lengthNotANumber, expected: {} },
  'Content-Length repeated with equal values (Node refuses it too)': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', problem: H1_PROBLEMS.lengthRepeated, expected: {} },
  'Content-Length repeated with other values': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', problem: H1_PROBLEMS.lengthRepeated, expected: {} },
  'Content-Length over 2^53 - 1': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n', problem: H1_PROBLEMS.lengthTooLarge, expected: {} },
  'a bad Content-Length on an interim head': { answer: 'HTTP/1.1 100 Continue\r\nContent-Length: x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', problem: H1_PROBLEMS.lengthNotANumber, expected: { interims: [] } },
  'a chunk size that is not hex': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'an empty chunk size': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a space after the chunk size': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;a=b\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a chunk size with a sign': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a bare LF after the chunk size': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a chunk size of 17 digits': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000002\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a chunk size over 2^53 - 1': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20000000000000\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'chunk data longer than its size': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: { body: 'ok' } },
  'chunk data followed by a bare LF': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: { body: 'ok' } },
  'chunk data followed by CR and no LF': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\r0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: { body: 'ok' } },
  'a chunk extension with a space': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a = b\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a chunk extension with a control character': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a="\x01"\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'an empty chunk extension': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\nok\r\n0\r\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: {} },
  'a chunk-size line of 4097 bytes': { answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=${'b'.repeat(4091)}\r\nok\r\n0\r\n\r\n`, problem: H1_PROBLEMS.chunkSizeLineTooLong, expected: {} },
  'a malformed trailer': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nBad Trailer: x\r\n\r\n', problem: H1_PROBLEMS.trailerFieldLine, expected: { body: 'ok' } },
  'a folded trailer': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nT: x\r\n y\r\n\r\n', problem: H1_PROBLEMS.trailerFieldLine, expected: { body: 'ok' } },
  'a trailer ending in a bare LF': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nT: x\n\r\n', problem: H1_PROBLEMS.chunkFraming, expected: { body: 'ok' } },
};

/** The outcome of `answer` fed whole, after checking that every other feeding gives the same one. */
function parsedAlike(answer: string, options: { method?: string; eof?: boolean; maxHeadBytes?: number; maxCuts?: number } = {}): ParseOutcome {
  const bytes = latin1(answer);
  const whole = parseAnswer(bytes, { ...options, feeding: 'whole' });
  for (const feeding of feedings(bytes.length, options.maxCuts)) {
    expect(parseAnswer(bytes, { ...options, feeding }), `fed as ${JSON.stringify(feeding)}`).toEqual(whole);
  }
  return whole;
}

describe('H1ResponseParser: what it takes, fed whole, byte by byte and cut at every offset', () => {
  it.each(Object.entries(ACCEPTED))('%s', (_, { answer, method, eof, expected }) => {
    const outcome = parsedAlike(answer, { method, eof });
    expect(outcome.problem).toBeNull();
    expect(outcome).toMatchObject(expected);
  });
});

describe('H1ResponseParser: what it refuses, fed whole, byte by byte and cut at every offset', () => {
  it.each(Object.entries(REFUSED))('%s', (_, { answer, method, problem, expected }) => {
    const outcome = parsedAlike(answer, { method, eof: true });
    expect(outcome.problem).toBe(problem);
    expect(outcome.endedAt).toBeNull();
    expect(outcome).toMatchObject(expected);
    // Nothing of the offending bytes is in the phrase.
    expect(problem).toMatch(/^[a-z][a-zA-Z0-9 ,./^()-]*[a-zA-Z)0-9]$/);
  });
});

describe('H1ResponseParser: the head limit', () => {
  /** A head of exactly `size` bytes (status line, one field, empty line). */
  function headOf(size: number, status = '200 OK'): string {
    const start = `HTTP/1.1 ${status}\r\nX-Pad: `;
    return `${start}${'p'.repeat(size - start.length - 4)}\r\n\r\n`;
  }

  it('takes a head of exactly maxHeadBytes, refuses one byte more, whatever the feeding', () => {
    expect(headOf(DEFAULT_MAX_HEAD_BYTES)).toHaveLength(DEFAULT_MAX_HEAD_BYTES);
    expect(parsedAlike(headOf(DEFAULT_MAX_HEAD_BYTES), { eof: true, maxCuts: 40 })).toMatchObject({ problem: null, head: { body: 'until-close' }, eof: null });
    expect(parsedAlike(headOf(DEFAULT_MAX_HEAD_BYTES + 1), { maxCuts: 40 })).toMatchObject({ problem: 'its head is larger than 16384 bytes', head: null });
  });

  it('counts across reads and stops at the limit with no line end in sight', () => {
    const flood = 'HTTP/1.1 200 OK\r\nX-Flood: ' + 'a'.repeat(200);
    expect(parsedAlike(flood, { maxHeadBytes: 100, maxCuts: 40 })).toMatchObject({ problem: 'its head is larger than 100 bytes' });
    expect(parseAnswer(latin1(flood.slice(0, 100)), { maxHeadBytes: 100, feeding: 'bytes', eof: true })).toMatchObject({ problem: null, eof: H1_PROBLEMS.closedEarly });
  });

  it('counts each interim head on its own', () => {
    const interim = headOf(60, '103 Early Hints');
    const final = headOf(60);
    expect(parsedAlike(interim + interim + final, { maxHeadBytes: 60, eof: true })).toMatchObject({ problem: null, interims: [[103, {}], [103, {}]], head: { statusCode: 200 } });
    expect(parsedAlike(headOf(61, '103 Early Hints') + final, { maxHeadBytes: 60 })).toMatchObject({ problem: 'its head is larger than 60 bytes', interims: [] });
  });

  it('counts the trailer section against the same limit', () => {
    const body = '1\r\na\r\n0\r\n';
    const trailers = (size: number): string => `T: ${'t'.repeat(size - 7)}\r\n\r\n`;
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    expect(parsedAlike(head + body + trailers(50), { maxHeadBytes: 50 })).toMatchObject({ problem: null, body: 'a', endedAt: head.length + body.length + 50 });
    expect(parsedAlike(head + body + trailers(51), { maxHeadBytes: 50 })).toMatchObject({ problem: 'its trailer section is larger than 50 bytes', body: 'a' });
  });

  it('refuses a limit that is not a positive integer, saying what to do', () => {
    const sink = recorder([]);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new H1ResponseParser(sink, { maxHeadBytes: bad })).toThrow(/^maxHeadBytes must be a positive integer \(bytes\), got .*: leave it out for 16384\.$/);
    }
  });
});

describe('H1ResponseParser: field names', () => {
  it('the table of names seen, filled past its bound by names at random, is emptied and goes on giving the right names', () => {
    const names = Array.from({ length: 1_500 }, (_, i) => `X-Random-${i.toString(36)}`);
    for (let i = 0; i < names.length; i += 100) {
      const fields = names.slice(i, i + 100).map((name) => `${name}: ${name.length}\r\n`).join('');
      const outcome = parseAnswer(latin1(`HTTP/1.1 200 OK\r\n${fields}Content-Length: 0\r\n\r\n`));
      expect(Object.keys(outcome.head?.headers ?? {})).toEqual([...names.slice(i, i + 100).map((name) => name.toLowerCase()), 'content-length']);
    }
    expect(parseAnswer(latin1(COMMON)).head?.headers).toEqual({ 'content-type': 'text/plain', date: 'Thu, 03 Dec 2026 08:00:00 GMT', 'x-request-id': '42', server: 'upstream', 'content-length': '12' });
  });
});

type Log = Array<string>;

/** A sink that logs what it is told, and may act from inside a callback. */
function recorder(log: Log, act: Partial<Record<keyof H1ResponseSink, () => void>> = {}): H1ResponseSink {
  return {
    onInterim: (code) => {
      log.push(`interim ${code}`);
      act.onInterim?.();
    },
    onHead: (head) => {
      log.push(`head ${head.statusCode} ${String(head.body)}`);
      act.onHead?.();
    },
    onBody: (chunk) => {
      log.push(`body ${chunk.toString('latin1')}`);
      act.onBody?.();
    },
    onEnd: (trailing) => {
      log.push(`end ${trailing}`);
      act.onEnd?.();
    },
  };
}

describe('H1ResponseParser: one parser, several exchanges', () => {
  it('expect() makes it ready for the next answer on the same connection, of any framing', () => {
    const log: Log = [];
    const parser = new H1ResponseParser(recorder(log));
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))).toBeNull();
    parser.expect('POST');
    expect(parser.push(latin1('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnew\r\n'))).toBeNull();
    expect(parser.push(latin1('0\r\n\r\n'))).toBeNull();
    parser.expect('HEAD');
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'))).toBeNull();
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 304 Not Modified\r\n\r\n'))).toBeNull();
    expect(parser.end()).toBeNull();
    expect(log).toEqual(['head 200 2', 'body ok', 'end 0', 'interim 100', 'head 201 chunked', 'body new', 'end 0', 'head 200 0', 'end 0', 'head 304 0', 'end 0']);
  });

  it('expect() after a problem or stop() starts afresh', () => {
    const log: Log = [];
    const parser = new H1ResponseParser(recorder(log));
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\nX : y\r\n'))).toBe(H1_PROBLEMS.fieldLine);
    expect(parser.push(latin1('\r\n'))).toBeNull();
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab'))).toBeNull();
    parser.stop();
    expect(parser.push(latin1('cd'))).toBeNull();
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 204 No Content\r\n\r\n'))).toBeNull();
    expect(log).toEqual(['head 200 4', 'body ab', 'head 204 0', 'end 0']);
  });

  it('bytes before expect() or after the end of the answer are a problem, then ignored', () => {
    const log: Log = [];
    const parser = new H1ResponseParser(recorder(log));
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\n\r\n'))).toBe(H1_PROBLEMS.bytesUnasked);
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'))).toBeNull();
    expect(parser.push(Buffer.alloc(0))).toBeNull();
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\n'))).toBe(H1_PROBLEMS.bytesAfterAnswer);
    expect(parser.push(latin1('Content-Length: 1\r\n\r\ny'))).toBeNull();
    expect(parser.end()).toBeNull();
    expect(log).toEqual(['head 200 1', 'body x', 'end 0']);
  });

  it('a sink callback that throws: the exception leaves push(), and expect() makes the parser whole again', () => {
    const log: Log = [];
    let throwing = true;
    const parser = new H1ResponseParser(
      recorder(log, {
        onHead: () => {
          if (throwing) throw new Error('the sink refused the head');
        },
      }),
    );
    parser.expect('GET');
    expect(() => parser.push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))).toThrow('the sink refused the head');
    throwing = false;
    parser.expect('GET');
    expect(parser.push(latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno'))).toBeNull();
    expect(log).toEqual(['head 200 2', 'head 200 2', 'body no', 'end 0']);
  });

  it('the sink may call expect() from onEnd and push what trailed (a pipelining client)', () => {
    const log: Log = [];
    let trailing = 0;
    const parser: H1ResponseParser = new H1ResponseParser(
      recorder(log, {
        onEnd: () => {
          trailing = Number(log.at(-1)?.split(' ')[1]);
          parser.expect('GET');
        },
      }),
    );
    parser.expect('GET');
    const both = latin1('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb');
    expect(parser.push(both)).toBeNull();
    expect(trailing).toBe(39);
    expect(parser.push(both.subarray(both.length - trailing))).toBeNull();
    expect(log).toEqual(['head 200 1', 'body a', 'end 39', 'head 200 1', 'body b', 'end 0']);
  });
});

describe('H1ResponseParser: stop() from inside each callback', () => {
  const ANSWERS = {
    interim: 'HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    length: 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd',
    chunked: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n',
    'until-close': 'HTTP/1.1 200 OK\r\n\r\nabcd',
    'no body': 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n',
  };
  /** The callback that stops, the answer, what is logged when it is pushed whole, and byte by byte. */
  const CALLBACKS: Array<[keyof H1ResponseSink, keyof typeof ANSWERS, string[], string[]]> = [
    ['onInterim', 'interim', ['interim 103'], ['interim 103']],
    ['onHead', 'interim', ['interim 103', 'head 200 2'], ['interim 103', 'head 200 2']],
    ['onHead', 'length', ['head 200 4'], ['head 200 4']],
    ['onBody', 'length', ['head 200 4', 'body abcd'], ['head 200 4', 'body a']],
    ['onBody', 'chunked', ['head 200 chunked', 'body ab'], ['head 200 chunked', 'body a']],
    ['onBody', 'until-close', ['head 200 until-close', 'body abcd'], ['head 200 until-close', 'body a']],
    ['onEnd', 'length', ['head 200 4', 'body abcd', 'end 0'], ['head 200 4', 'body a', 'body b', 'body c', 'body d', 'end 0']],
    // Byte by byte, the bytes after the end come in later pushes: ignored after stop(), not a problem.
    ['onEnd', 'no body', ['head 204 0', 'end 19'], ['head 204 0', 'end 0']],
  ];

  it.each(CALLBACKS)('stop() in %s (%s answer): no callback after it, push() and end() return null, whole or byte by byte', (callback, answer, whole, byBytes) => {
    for (const feeding of ['whole', 'bytes'] as const) {
      const log: Log = [];
      const parser: H1ResponseParser = new H1ResponseParser(recorder(log, { [callback]: () => parser.stop() }));
      parser.expect('GET');
      const bytes = latin1(ANSWERS[answer]);
      const chunks = feeding === 'whole' ? [bytes] : [...bytes].map((b) => Buffer.from([b]));
      for (const chunk of chunks) expect(parser.push(chunk)).toBeNull();
      expect(parser.end()).toBeNull();
      expect(log).toEqual(feeding === 'whole' ? whole : byBytes);
    }
  });
});

describe('H1ResponseParser: end() in each state', () => {
  function ended(method: string, answer: string | null): { result: string | null; log: Log } {
    const log: Log = [];
    const parser = new H1ResponseParser(recorder(log));
    if (answer !== null) {
      parser.expect(method);
      if (answer !== '') parser.push(latin1(answer));
    }
    return { result: parser.end(), log };
  }

  it.each([
    ['before any expect()', null, null, []],
    ['expected, nothing received', '', H1_PROBLEMS.closedBeforeAnswer, []],
    ['in the status line', 'HTTP/1.1 20', H1_PROBLEMS.closedEarly, []],
    ['after an interim head', 'HTTP/1.1 100 Continue\r\n\r\n', H1_PROBLEMS.closedEarly, ['interim 100']],
    ['in the fields', 'HTTP/1.1 200 OK\r\nContent-Le', H1_PROBLEMS.closedEarly, []],
    ['in a Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab', H1_PROBLEMS.closedEarly, ['head 200 3', 'body ab']],
    ['in a chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab', H1_PROBLEMS.closedEarly, ['head 200 chunked', 'body ab']],
    ['in the trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n', H1_PROBLEMS.closedEarly, ['head 200 chunked']],
    ['in an until-close body: its end', 'HTTP/1.1 200 OK\r\n\r\nab', null, ['head 200 until-close', 'body ab', 'end 0']],
    ['after the end', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', null, ['head 200 0', 'end 0']],
    ['after a problem', 'HTTP/1.1 200 OK\r\nX : y\r\n\r\n', null, []],
    ['after a 101', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', null, ['interim 101']],
  ] as const)('%s', (_, answer, result, log) => {
    expect(ended('GET', answer)).toEqual({ result, log });
  });

  it('a second end() after an until-close body has nothing pending', () => {
    const log: Log = [];
    const parser = new H1ResponseParser(recorder(log));
    parser.expect('GET');
    parser.push(latin1('HTTP/1.1 200 OK\r\n\r\nab'));
    expect(parser.end()).toBeNull();
    expect(parser.end()).toBeNull();
    expect(log).toEqual(['head 200 until-close', 'body ab', 'end 0']);
  });
});
