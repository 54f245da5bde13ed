// The HTTP/1.1 client loops of the PooledAgent benches: one GET through an agent, and
// requests per second of `concurrency` loops sharing `total` requests.
import http from 'node:http';

/** One GET / on 127.0.0.1:`port` through `agent`, its body read to the end. */
export function getOnce(agent, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', resolve);
    });
    req.on('error', reject);
  });
}

/** Requests per second with `concurrency` loops of `send()` sharing `total` requests. */
export async function requestsPerSecond(send, concurrency, total) {
  let left = total;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await send();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return total / seconds;
}
