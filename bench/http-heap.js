// Heap per idle pooled HTTP/1.1 connection at 4k connections: the PooledAgent over our pool
// vs undici's Pool, same server (another process), same run. Each sample runs in a fresh
// Node process so that one contender's garbage does not weigh on the other's.
//
//   npm run build && node --expose-gc bench/http-heap.js [--rounds 3]
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool as UndiciPool } from 'undici';
import { ConnectionPool } from '../dist/index.js';
import { forkServer } from './lib/fork-server.js';
import { gc, heapUsed, median, roundsFromArgs } from './lib/stats.js';

const N = 4_000;
const contenderArg = process.argv.indexOf('--contender');

async function sample(contender, port, n = N) {
  const origin = `http://127.0.0.1:${port}`;
  gc();
  const before = heapUsed();
  let count;
  if (contender === 'PooledAgent') {
    const pool = new ConnectionPool({ maxIdleConnections: n, maxConnectionsPerAddress: n });
    const agent = pool.httpAgent();
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise((resolve, reject) => {
            http.get({ host: '127.0.0.1', port, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
          }),
      ),
    );
    count = pool.stats().idle;
    closers.push(() => pool.close());
  } else {
    const pool = new UndiciPool(origin, { connections: n, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 });
    await Promise.all(
      Array.from({ length: n }, async () => {
        const { body } = await pool.request({ path: '/', method: 'GET' });
        for await (const _ of body);
      }),
    );
    count = pool.stats.connected;
    closers.push(() => pool.close());
  }
  // Let the last responses' callbacks run (Node frees a socket's parser on the next tick).
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  if (count !== n) throw new Error(`${contender}: expected ${n} idle connections, got ${count}`);
  return (heapUsed() - before) / n;
}

const closers = [];

if (contenderArg >= 0) {
  // Child: one sample, printed as JSON.
  const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
  const contender = process.argv[contenderArg + 1];
  // Warm up first, so that one-time costs (modules loaded on first use, compiled code,
  // Node's cache of 1,000 HTTP parsers) are not charged per connection.
  await sample(contender, port, 1_000);
  for (const close of closers.splice(0)) await close();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const bytes = await sample(contender, port);
  console.log(JSON.stringify({ bytes }));
  process.exit(0);
}

const rounds = roundsFromArgs(3);
const server = await forkServer('servers/http-upstream.js');
const samples = { PooledAgent: [], 'undici Pool': [] };
for (let round = 0; round < rounds; round++) {
  for (const contender of round % 2 === 0 ? ['PooledAgent', 'undici Pool'] : ['undici Pool', 'PooledAgent']) {
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--contender', contender, '--port', String(server.port)], {
      encoding: 'utf8',
    });
    samples[contender].push(JSON.parse(out.trim().split('\n').at(-1)).bytes);
  }
}
await server.stop();
const heap = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
console.log(`\nHeap per idle HTTP/1.1 connection at ${N} connections (median of ${rounds} fresh processes each)`);
for (const [name, bytes] of Object.entries(heap)) console.log(`  ${name.padEnd(14)} ${(bytes / 1024).toFixed(2)} KB`);
console.log(`  ratio          ${(heap.PooledAgent / heap['undici Pool']).toFixed(2)}x undici`);
// Target (issue 3): below undici's heap per idle connection, in the same run.
const ratio = heap.PooledAgent / heap['undici Pool'];
const targets = [{ name: 'heap per idle HTTP/1.1 connection at 4k, ours / undici (< 1.0x)', measured: `${ratio.toFixed(2)}x`, met: ratio < 1 }];
console.log(`#result ${JSON.stringify({ heapPerIdleBytes: heap, targets })}`);
