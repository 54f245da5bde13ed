// The upstream of bench/gateway.js, run in its own process: a keep-alive node:http server that
// reads each request body to its end and answers 12 bytes, or 1 MiB on `/big`. Sends its port
// to the parent (fork).
import { createServer } from 'node:http';

const small = Buffer.from('hello world\n');
const big = Buffer.alloc(1024 * 1024, 'x');

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const body = req.url === '/big' ? big : small;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
// No idle timeout of its own: the proxies' reuse is what is measured.
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
