/**
 * The corpus of hostile requests: raw bytes as an attacker writes them, each with what the
 * upstream must receive (exactly these requests, well framed) and what the client must get.
 */

/** A request the upstream must receive, relative to the proxy prefix. */
export interface ExpectedForward {
  readonly method: string;
  /** The upstream target (path and query), e.g. `/a`. */
  readonly target: string;
  readonly body: string;
}

/** One hostile request (or several pipelined on one connection). */
export interface HostileCase {
  readonly name: string;
  /** The bytes the client sends (latin1). */
  readonly bytes: string;
  /** The statuses the client gets, in order; the connection may close after them. */
  readonly statuses: readonly number[];
  /** The methods of the requests answered (for HEAD responses, which have no body). Default GET for each. */
  readonly methods?: readonly string[];
  /** What the upstream receives from this client, in order: nothing for a refused request. */
  readonly forwarded: readonly ExpectedForward[];
  /**
   * Whether the gateway keeps the connection open after the answers (then a sentinel request
   * is sent and must be answered right after them). Default: true when every status is < 400.
   */
  readonly keepsConnection?: boolean;
}

const HOST = 'Host: gateway.test\r\n';
/** Methods with a request body allowed by the gateway, tried one by one. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;

/** What an attacker puts in a body to have it read as a second request. */
const SMUGGLED = `GET /proxy/smuggled HTTP/1.1\r\n${HOST}X-Smuggled: 1\r\n\r\n`;

function chunked(text: string): string {
  return `${Buffer.byteLength(text, 'latin1').toString(16)}\r\n${text}\r\n0\r\n\r\n`;
}

function one(method: string, target: string, body: string): ExpectedForward[] {
  return [{ method, target, body }];
}

function refused(name: string, bytes: string, status = 400): HostileCase {
  return { name, bytes, statuses: [status], forwarded: [], keepsConnection: false };
}

const cases: HostileCase[] = [];

// 1. The Connection header names a framing field or Host: for every method, the body still
//    goes out framed, Host is still the upstream's.
for (const method of METHODS) {
  const path = `/proxy/conn-cl-${method.toLowerCase()}`;
  cases.push({
    name: `${method} with a body and Connection: content-length`,
    bytes: `${method} ${path} HTTP/1.1\r\n${HOST}Connection: keep-alive, content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    statuses: [200],
    methods: [method],
    forwarded: one(method, path.slice(6), SMUGGLED),
  });
  cases.push({
    name: `${method} with a chunked body and Connection: transfer-encoding`,
    bytes: `${method} ${path}-te HTTP/1.1\r\n${HOST}Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(SMUGGLED)}`,
    statuses: [200],
    methods: [method],
    forwarded: one(method, `${path.slice(6)}-te`, SMUGGLED),
  });
  cases.push({
    name: `${method} with Connection: host, content-length, transfer-encoding`,
    bytes: `${method} ${path}-host HTTP/1.1\r\n${HOST}Connection: host, content-length, transfer-encoding\r\nContent-Length: 5\r\n\r\nhello`,
    statuses: [200],
    methods: [method],
    forwarded: one(method, `${path.slice(6)}-host`, 'hello'),
  });
}

// 2. Bodies on every method, with a length and chunked, and none.
for (const method of METHODS) {
  const path = `/proxy/body-${method.toLowerCase()}`;
  cases.push({
    name: `${method} with a chunked body of two chunks and a trailer`,
    bytes: `${method} ${path} HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n`,
    statuses: [200],
    methods: [method],
    forwarded: one(method, path.slice(6), 'abcde'),
  });
}
cases.push({
  name: 'POST with Content-Length: 0',
  bytes: `POST /proxy/empty HTTP/1.1\r\n${HOST}Content-Length: 0\r\n\r\n`,
  statuses: [200],
  methods: ['POST'],
  forwarded: one('POST', '/empty', ''),
});

// 3. Content-Length and Transfer-Encoding together or in disguise.
cases.push(refused('CL.TE: Content-Length then Transfer-Encoding', `POST /proxy/clte HTTP/1.1\r\n${HOST}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`));
cases.push(refused('TE.CL: Transfer-Encoding then Content-Length', `POST /proxy/tecl HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: chunked, identity', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: identity, chunked', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding: identity, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: two Transfer-Encoding fields', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: an empty Transfer-Encoding field, then chunked', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: a leading comma', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding: ,chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: xchunked', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: a space before the colon', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: a vertical tab before chunked', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding:\x0bchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: a parameter on chunked', `POST /proxy/tete HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked;q=1\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('TE.TE: chunked on an HTTP/1.0 request', `POST /proxy/tete HTTP/1.0\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('a transfer coding the gateway does not forward (gzip, chunked)', `POST /proxy/gzip HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 501));
cases.push({
  name: 'TE: CHUNKED in capitals (a valid coding name: re-framed as chunked)',
  bytes: `POST /proxy/caps HTTP/1.1\r\n${HOST}Transfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
  statuses: [200],
  methods: ['POST'],
  forwarded: one('POST', '/caps', 'abc'),
});
cases.push({
  name: 'TE: a tab and a trailing space around chunked (optional white space)',
  bytes: `PUT /proxy/ows HTTP/1.1\r\n${HOST}Transfer-Encoding:\tchunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
  statuses: [200],
  methods: ['PUT'],
  forwarded: one('PUT', '/ows', 'abc'),
});
cases.push(refused('two equal Content-Length fields', `POST /proxy/cl HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`));
cases.push(refused('two different Content-Length fields', `POST /proxy/cl HTTP/1.1\r\n${HOST}Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc${SMUGGLED}`));
cases.push(refused('Content-Length as a list', `POST /proxy/cl HTTP/1.1\r\n${HOST}Content-Length: 3, 3\r\n\r\nabc`));
cases.push(refused('Content-Length with a sign', `POST /proxy/cl HTTP/1.1\r\n${HOST}Content-Length: +3\r\n\r\nabc`));
cases.push(refused('Content-Length beyond any integer', `POST /proxy/cl HTTP/1.1\r\n${HOST}Content-Length: 99999999999999999999999\r\n\r\nabc`));

// 4. Line folding, bare CR and LF, NUL and other control characters.
cases.push(refused('obs-fold in an ordinary header', `GET /proxy/fold HTTP/1.1\r\n${HOST}X-Folded: a\r\n b\r\n\r\n`));
cases.push(refused('obs-fold continuing Transfer-Encoding', `POST /proxy/fold HTTP/1.1\r\n${HOST}Transfer-Encoding: identity\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('a bare LF ending the request line', `GET /proxy/lf HTTP/1.1\n${HOST}\r\n`));
cases.push(refused('a bare LF between headers', `GET /proxy/lf HTTP/1.1\r\nHost: gateway.test\nX-A: b\r\n\r\n`));
cases.push(refused('a bare CR between headers', `GET /proxy/cr HTTP/1.1\r\nHost: gateway.test\rX-A: b\r\n\r\n`));
cases.push(refused('NUL in a header value', `GET /proxy/nul HTTP/1.1\r\n${HOST}X-A: a\x00b\r\n\r\n`));
cases.push(refused('NUL in the request target', `GET /proxy/a\x00b HTTP/1.1\r\n${HOST}\r\n`));
cases.push(refused('DEL in a header value', `GET /proxy/del HTTP/1.1\r\n${HOST}X-A: a\x7fb\r\n\r\n`));

// 5. Chunk sizes and chunk framing.
cases.push(refused('a chunk size that overflows 64 bits', `POST /proxy/chunk HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nabc\r\n0\r\n\r\n`));
cases.push(refused('a chunk size followed by white space', `POST /proxy/chunk HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`));
cases.push(refused('chunks delimited by bare LF', `POST /proxy/chunk HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n`));
cases.push(refused('chunk data longer than its size', `POST /proxy/chunk HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n3\r\nabcGET /proxy/smuggled HTTP/1.1\r\n\r\n0\r\n\r\n`));
cases.push({
  name: 'a chunk size with many leading zeros',
  bytes: `POST /proxy/zeros HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n0000000000000000000003\r\nabc\r\n0\r\n\r\n`,
  statuses: [200],
  methods: ['POST'],
  forwarded: one('POST', '/zeros', 'abc'),
});

// 6. Pipelined requests: each forwarded on its own, in order, framed by the gateway.
cases.push({
  name: 'three pipelined GETs',
  bytes: `GET /proxy/p1 HTTP/1.1\r\n${HOST}\r\nGET /proxy/p2 HTTP/1.1\r\n${HOST}\r\nGET /proxy/p3 HTTP/1.1\r\n${HOST}\r\n`,
  statuses: [200, 200, 200],
  forwarded: [
    { method: 'GET', target: '/p1', body: '' },
    { method: 'GET', target: '/p2', body: '' },
    { method: 'GET', target: '/p3', body: '' },
  ],
});
cases.push({
  name: 'a GET whose body is a request, with Connection: content-length, pipelined before a HEAD',
  bytes: `GET /proxy/q1 HTTP/1.1\r\n${HOST}Connection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}HEAD /proxy/q2 HTTP/1.1\r\n${HOST}\r\n`,
  statuses: [200, 200],
  methods: ['GET', 'HEAD'],
  forwarded: [
    { method: 'GET', target: '/q1', body: SMUGGLED },
    { method: 'HEAD', target: '/q2', body: '' },
  ],
});
cases.push({
  name: 'a chunked POST pipelined before a DELETE with a length',
  bytes: `POST /proxy/r1 HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n${chunked('first')}DELETE /proxy/r2 HTTP/1.1\r\n${HOST}Content-Length: 6\r\n\r\nsecond`,
  statuses: [200, 200],
  methods: ['POST', 'DELETE'],
  forwarded: [
    { method: 'POST', target: '/r1', body: 'first' },
    { method: 'DELETE', target: '/r2', body: 'second' },
  ],
});
cases.push({
  name: 'a good request pipelined before an ambiguous one, then a third: the first only is forwarded',
  bytes: `GET /proxy/s1 HTTP/1.1\r\n${HOST}\r\nPOST /proxy/s2 HTTP/1.1\r\n${HOST}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\nGET /proxy/s3 HTTP/1.1\r\n${HOST}\r\n`,
  statuses: [200, 400],
  methods: ['GET', 'POST'],
  forwarded: [{ method: 'GET', target: '/s1', body: '' }],
  keepsConnection: false,
});

// 7. Host, request-target and version.
cases.push(refused('two Host fields', `GET /proxy/host HTTP/1.1\r\nHost: gateway.test\r\nHost: evil.test\r\n\r\n`));
cases.push(refused('no Host on HTTP/1.1', `GET /proxy/host HTTP/1.1\r\n\r\n`));
cases.push(refused('a Host that is not an authority', `GET /proxy/host HTTP/1.1\r\nHost: evil.test/path@x\r\n\r\n`));
// Well framed, so the connection stays usable; the path is not forwarded (a 400 of the proxy's own).
cases.push({ ...refused('an absolute-form target naming another host', `GET http://evil.test/proxy/abs HTTP/1.1\r\n${HOST}\r\n`), keepsConnection: true });
cases.push({ ...refused('a dot-segment with a path parameter and a body', `POST /proxy/..;/admin HTTP/1.1\r\n${HOST}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`), keepsConnection: true });
cases.push(refused('an HTTP/0.9 request line', `GET /proxy/v09\r\n\r\n`));
cases.push(refused('HTTP/1.2', `GET /proxy/v12 HTTP/1.2\r\n${HOST}\r\n`));
cases.push({ ...refused('an unsupported expectation', `POST /proxy/expect HTTP/1.1\r\n${HOST}Expect: teapot\r\nContent-Length: 3\r\n\r\nabc`, 417), keepsConnection: true });
cases.push({
  name: 'an Upgrade request is forwarded as a plain request, without its upgrade',
  bytes: `GET /proxy/ws HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
  statuses: [200],
  forwarded: one('GET', '/ws', ''),
});
cases.push({
  name: 'HTTP/1.0 with a Content-Length body',
  bytes: `POST /proxy/v10 HTTP/1.0\r\n${HOST}Content-Length: 3\r\n\r\nabc`,
  statuses: [200],
  methods: ['POST'],
  forwarded: one('POST', '/v10', 'abc'),
  // HTTP/1.0 without keep-alive: the gateway closes after answering.
  keepsConnection: false,
});

/** Every case. */
export const HOSTILE_REQUESTS: readonly HostileCase[] = cases;
