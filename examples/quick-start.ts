import http from 'node:http';
import { ConnectionPool } from 'reactive-connection-pool';

const origin = process.env.API_ORIGIN ?? 'http://127.0.0.1:8080';

// OkHttp's model: at most 5 idle connections, each kept 30 s; here also at most 10 per address.
const pool = new ConnectionPool({ maxIdleConnections: 5, keepAlive: '30s', maxConnectionsPerAddress: 10 });
pool.events$.subscribe((event) => console.log(event.type, 'connectionId' in event ? event.connectionId : ''));

// Node's own http client, its sockets coming from the pool (axios and got take it too).
const agent = pool.httpAgent();
function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`${origin}${path}`, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

for (const path of ['/a', '/b', '/c']) console.log(path, await get(path));
console.log(pool.stats().totals); // { connects: 1, acquired: 3, reused: 2, ... }
await pool.close(); // drains leases, closes every connection, stops the cleanup stream
