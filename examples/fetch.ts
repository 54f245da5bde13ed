import { fetch, request } from 'undici';
import { ConnectionPool } from 'reactive-connection-pool';

const origin = process.env.API_ORIGIN ?? 'http://127.0.0.1:8080';

const pool = new ConnectionPool({ keepAlive: '30s', maxConnectionsPerAddress: 10 });
// An undici Dispatcher over the pool: HTTP/1.1, and HTTP/2 where ALPN picks it. An idempotent
// request that fails on a stale reused connection is retried once on a fresh one.
const dispatcher = pool.dispatcher();

const res = await fetch(`${origin}/items/1`, { dispatcher });
console.log(res.status, await res.json());

const { statusCode, body } = await request(`${origin}/items/2`, { dispatcher });
console.log(statusCode, await body.json());

// Node's own global fetch can use it too: setGlobalDispatcher(pool.dispatcher()).
console.log(pool.stats().totals); // { connects: 1, acquired: 2, reused: 1, ... }
await dispatcher.close();
await pool.close();
