import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtServiceEntry } from '../app/support/built-service.js';
import { testCerts } from '../support/certs.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What a handler's exceptions become, HTTP/1.1 and HTTP/2, undici's Agent and the pool's
 * dispatcher side by side (issue 18, item 5: an exception thrown from a handler's onError was
 * swallowed over HTTP/2). A handler whose onHeaders, onData or onComplete throws is told
 * through its onError; what that onError throws in turn undici swallows over HTTP/1.1 and
 * leaves uncaught over HTTP/2, and so does the pool. Each case runs in a child process of its
 * own (an uncaught exception is what is looked for), with the library as `npm run build`
 * builds it.
 */
const CHILD = `
import * as http from 'node:http';
import * as http2 from 'node:http2';
const { Agent } = await import('undici');
const { ConnectionPool } = await import(process.env.LIBRARY);
const [side, protocol, where] = process.argv.slice(1);
const done = (outcome) => { console.log(JSON.stringify(outcome)); process.exit(0); };
process.on('uncaughtException', (error) => done({ uncaught: error.message }));
process.on('unhandledRejection', (error) => done({ unhandledRejection: error.message }));
let origin;
if (protocol === 'h2') {
  const server = http2.createSecureServer({ cert: process.env.CERT, key: process.env.KEY });
  server.on('stream', (stream) => { stream.on('error', () => {}); stream.respond({ ':status': 200 }); stream.end('body'); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = 'https://127.0.0.1:' + server.address().port;
} else {
  const server = http.createServer((req, res) => res.end('body'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = 'http://127.0.0.1:' + server.address().port;
}
const dispatcher = side === 'peer'
  ? new Agent({ allowH2: protocol === 'h2', connect: { ca: process.env.CA } })
  : new ConnectionPool().dispatcher({ tls: { ca: process.env.CA }, http2: protocol === 'h2' ? 'always' : 'never' });
dispatcher.dispatch({ origin, path: '/', method: 'GET' }, {
  onConnect() {},
  onHeaders() { if (where === 'onHeaders') throw new Error('from onHeaders'); return true; },
  onData() { if (where === 'onData') throw new Error('from onData'); return true; },
  onComplete() { if (where === 'onComplete') throw new Error('from onComplete'); },
  onError(error) {
    // Swallowed, if nothing is uncaught by the time the request has ended and the dispatcher
    // closed (an exception thrown later on its own turn would come before that).
    dispatcher.close().then(() => setImmediate(() => done({ told: error.message, swallowed: true })));
    throw new Error('onError after: ' + error.message);
  },
});
`;

async function outcomeOf(library: string, side: string, protocol: string, where: string): Promise<unknown> {
  const certs = testCerts();
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD, side, protocol, where], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LIBRARY: library, CERT: certs.server.cert, KEY: certs.server.key, CA: certs.ca.cert },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null');
}

describe("an exception from a handler's onError is not swallowed (item 5)", () => {
  const cases = ['h1', 'h2'].flatMap((protocol) => ['onHeaders', 'onData', 'onComplete'].map((where) => [protocol, where] as const));
  let library = '';
  // Building the library takes a while on a loaded machine (once per change of the sources).
  beforeAll(async () => {
    library = join(dirname(await builtServiceEntry()), 'index.js');
  }, 300_000);

  it.each(cases)('%s, a handler whose %s throws: its onError is told; what that throws is swallowed (HTTP/1.1) or uncaught (HTTP/2), as undici does', { timeout: 60_000 }, async (protocol, where) => {
    const peer = await outcomeOf(library, 'peer', protocol, where);
    const pool = await outcomeOf(library, 'pool', protocol, where);
    expect(pool).toEqual(peer);
    expect(peer).toEqual(protocol === 'h2' ? { uncaught: `onError after: from ${where}` } : { told: `from ${where}`, swallowed: true });
  });
});
