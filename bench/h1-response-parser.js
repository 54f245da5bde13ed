// The gateway's own HTTP/1.1 response parser (src/app/upstream/h1, issue 15) against Node's
// parser (llhttp, as node:http's client drives it), on the same answers held in memory: ns per
// answer, medians of rounds in which the contenders take turns (the order rotating from round
// to round, so that a change of load on a shared machine weighs on all alike).
//
// Node's parser is measured two ways: alone (execute() and its callbacks, the head as the raw
// [name, value, ...] array it hands over), and with the headers object built by
// IncomingMessage's own _addHeaderLine, as res.headers does; the gateway's parser always builds
// that object. The gateway's parser is timed reused (expect() for each answer) and made anew for
// each answer, as the gateway's client does today. Neither includes what node:http adds around its parser (ClientRequest,
// IncomingMessage streams, the Agent): that is the rest of issue 15's 15 µs.
//
//   npm run build && node bench/h1-response-parser.js [--rounds 7]
import http from 'node:http';
import { createRequire } from 'node:module';
import { H1ResponseParser } from '../dist/app/upstream/h1/response-parser.js';
import { formatNs, formatRatio, median, nsPerCall, printTable, rotate, roundsFromArgs } from './lib/stats.js';

const require = createRequire(import.meta.url);
// Node's internal parser binding, as lib/_http_client.js uses it (the bench only: never in src).
const { HTTPParser } = require('_http_common');

const rounds = roundsFromArgs(7);

const COMMON = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Thu, 03 Dec 2026 08:00:00 GMT\r\nX-Request-Id: 42\r\nServer: upstream\r\nContent-Length: 12\r\n\r\nhello world\n',
  'latin1',
);
const CHUNKED = Buffer.from(
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Thu, 03 Dec 2026 08:00:00 GMT\r\nX-Request-Id: 42\r\nServer: upstream\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{"a":1}\r\n5\r\n,"b":\r\n2\r\n2}\r\n0\r\n\r\n',
  'latin1',
);
const SPLIT_AT = 60;

/** Each scenario: the reads an answer comes in, and the body length it must give. */
const SCENARIOS = {
  'common answer (5 fields, Content-Length: 12), one read': { reads: [COMMON], body: 12 },
  'chunked answer (5 fields, 3 chunks), one read': { reads: [CHUNKED], body: 14 },
  'common answer, head split over two reads': { reads: [COMMON.subarray(0, SPLIT_AT), COMMON.subarray(SPLIT_AT)], body: 12 },
};

let bodyBytes = 0;
let messages = 0;
let headerCount = 0;

const SINK = {
  onInterim() {},
  onHead(head) {
    headerCount += head.headers['content-type'] === undefined ? 0 : 1;
  },
  onBody(chunk) {
    bodyBytes += chunk.length;
  },
  onEnd() {
    messages++;
  },
};

/** A new parser for every answer, as the gateway's client makes one per exchange (h1-exchange.ts). */
function gatewayParserPerAnswer() {
  return (reads) => {
    const parser = new H1ResponseParser(SINK);
    parser.expect('GET');
    for (const read of reads) {
      const problem = parser.push(read);
      if (problem !== null) throw new Error(`the gateway's parser refused the bench answer: ${problem}`);
    }
  };
}

function gatewayParser() {
  const parser = new H1ResponseParser(SINK);
  return (reads) => {
    parser.expect('GET');
    for (const read of reads) {
      const problem = parser.push(read);
      if (problem !== null) throw new Error(`the gateway's parser refused the bench answer: ${problem}`);
    }
  };
}

function nodeParser(buildHeaders) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
  const addHeaderLine = http.IncomingMessage.prototype._addHeaderLine;
  const message = { joinDuplicateHeaders: false };
  let pending = [];
  // The head comes in kOnHeaders when it spans reads, else with kOnHeadersComplete.
  parser[HTTPParser.kOnHeaders] = (headers) => {
    pending = pending.concat(headers);
  };
  parser[HTTPParser.kOnHeadersComplete] = (_major, _minor, headers) => {
    const raw = headers ?? pending;
    pending = [];
    if (buildHeaders) {
      const dest = {};
      for (let i = 0; i < raw.length; i += 2) addHeaderLine.call(message, raw[i], raw[i + 1], dest);
      headerCount += dest['content-type'] === undefined ? 0 : 1;
    } else {
      headerCount += raw.length > 0 ? 1 : 0;
    }
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk) => {
    bodyBytes += chunk.length;
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    messages++;
  };
  return (reads) => {
    for (const read of reads) {
      const result = parser.execute(read);
      if (result instanceof Error) throw result;
    }
  };
}

const CONTENDERS = {
  "gateway's H1ResponseParser": gatewayParser,
  "gateway's, a new one per answer": gatewayParserPerAnswer,
  'llhttp (Node), raw head': () => nodeParser(false),
  'llhttp (Node) + headers object': () => nodeParser(true),
};

/** Checks that a contender reads the scenario's answer fully (one message, the whole body). */
function check(name, scenario, parse) {
  bodyBytes = 0;
  messages = 0;
  parse(scenario.reads);
  parse(scenario.reads);
  if (messages !== 2 || bodyBytes !== 2 * scenario.body) throw new Error(`${name} read ${messages} messages and ${bodyBytes} body bytes`);
}

const results = {};
for (const [scenarioName, scenario] of Object.entries(SCENARIOS)) {
  const parsers = Object.fromEntries(Object.entries(CONTENDERS).map(([name, make]) => [name, make()]));
  for (const [name, parse] of Object.entries(parsers)) check(name, scenario, parse);
  const samples = Object.fromEntries(Object.keys(parsers).map((name) => [name, []]));
  // Warm-up: every contender optimised before the first round counts.
  for (const parse of Object.values(parsers)) for (let i = 0; i < 200_000; i++) parse(scenario.reads);
  for (let round = 0; round < rounds; round++) {
    for (const name of rotate(Object.keys(parsers), round)) {
      const parse = parsers[name];
      const reads = scenario.reads;
      samples[name].push(
        nsPerCall((k) => {
          const start = process.hrtime.bigint();
          for (let i = 0; i < k; i++) parse(reads);
          return Number(process.hrtime.bigint() - start);
        }, { batches: 9 }),
      );
    }
  }
  results[scenarioName] = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

for (const [scenarioName, byName] of Object.entries(results)) {
  const ours = byName["gateway's H1ResponseParser"];
  printTable(
    `${scenarioName}: ns per answer, median of ${rounds} rounds`,
    ['parser', 'per answer', "llhttp / gateway's"],
    Object.entries(byName).map(([name, ns]) => [name, formatNs(ns), name.startsWith('llhttp') ? formatRatio(ns / ours) : '']),
  );
}
if (headerCount === 0) console.log('(no head read)');
