// The load generator of bench/gateway.js: keep-alive HTTP/1.1 clients on raw sockets, each
// sending its next request as soon as the previous answer is in. It parses no more than it must
// (the status line and Content-Length) so that it costs the machine less than the proxies it
// loads, and it times every request with the high-resolution clock (autocannon's latencies are
// whole milliseconds: a p99 at concurrency 1 would read 0 or 1).
import { once } from 'node:events';
import * as net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** The bytes of one request: `method path` with a body of `bodyBytes` (0: none). */
function requestBytes({ port, method, path, bodyBytes }) {
  const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` + (bodyBytes > 0 ? `Content-Type: application/octet-stream\r\nContent-Length: ${bodyBytes}\r\n` : '') + '\r\n';
  return bodyBytes > 0 ? [Buffer.from(head, 'latin1'), Buffer.alloc(bodyBytes, 'b')] : [Buffer.from(head, 'latin1')];
}

/**
 * One keep-alive connection that sends requests one after the other while `wanted()` says so,
 * calling `done(status, ms)` for each answer. Resolves when it stops (or fails).
 */
function connection(port, request, wanted, done) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let pending = Buffer.alloc(0);
    let status = 0;
    let bodyLeft = -1;
    let sentAt = 0;
    const send = () => {
      if (!wanted()) {
        socket.end();
        return;
      }
      sentAt = performance.now();
      for (const chunk of request) socket.write(chunk);
    };
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      if (bodyLeft < 0) {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const end = pending.indexOf(HEAD_END);
        if (end === -1) return;
        const head = pending.toString('latin1', 0, end + 2);
        status = Number(head.slice(9, 12));
        const length = CONTENT_LENGTH.exec(head);
        if (length === null) {
          // Every proxy here forwards the upstream's Content-Length: anything else is a failure.
          done(0, performance.now() - sentAt);
          socket.destroy();
          return;
        }
        bodyLeft = Number(length[1]) - (pending.length - end - 4);
        pending = Buffer.alloc(0);
      } else {
        bodyLeft -= chunk.length;
      }
      if (bodyLeft > 0) return;
      bodyLeft = -1;
      done(status, performance.now() - sentAt);
      send();
    });
    socket.on('error', () => done(0, performance.now() - sentAt));
    socket.on('close', resolve);
  });
}

/**
 * Opens `count` keep-alive connections that each send one GET on `path`, read the answer, and
 * then stay open and idle. Resolves with a function that closes them.
 */
export async function idleClients({ port, path, count }) {
  const sockets = [];
  const request = requestBytes({ port, method: 'GET', path, bodyBytes: 0 })[0];
  for (let opened = 0; opened < count; opened += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - opened) }, async () => {
        const socket = net.connect({ host: '127.0.0.1', port });
        sockets.push(socket);
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.write(request);
        await once(socket, 'data');
      }),
    );
  }
  return {
    open: () => sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open').length,
    close: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The `p`-th percentile of `sorted` (ascending). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * `concurrency` connections sending `method path` (with `bodyBytes` of body) for
 * `warmupSeconds + seconds`; what completes in the last `seconds` is counted. Returns requests
 * per second, latency percentiles (ms), failures (non-2xx answers, broken connections) and
 * how many answers came in all (and, with `keepLatencies`, every counted latency).
 */
export async function runLoad({ port, method = 'GET', path, bodyBytes = 0, concurrency, seconds, warmupSeconds = 0.5, keepLatencies = false }) {
  const request = requestBytes({ port, method, path, bodyBytes });
  const start = performance.now();
  const from = start + warmupSeconds * 1_000;
  const until = from + seconds * 1_000;
  const latencies = [];
  let failed = 0;
  let answered = 0;
  const wanted = () => performance.now() < until;
  const done = (status, ms) => {
    answered++;
    const now = performance.now();
    if (now < from || now > until) return;
    if (status < 200 || status > 299) failed++;
    else latencies.push(ms);
  };
  await Promise.all(Array.from({ length: concurrency }, () => connection(port, request, wanted, done)));
  latencies.sort((a, b) => a - b);
  // answered: every answer, the warm-up's included (for the proxy's CPU per request).
  const result = { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed, answered };
  // Every counted latency (ms, ascending), for a caller that merges several runs.
  if (keepLatencies) result.latencies = latencies;
  return result;
}
