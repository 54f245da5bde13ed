// A keep-alive HTTP/1.1 server for the client benchmarks, run in its own process (fork) so
// that the client under test does not share its event loop. Sends its port to the parent.
import { createServer } from 'node:http';

const body = Buffer.from('ok');
const server = createServer((req, res) => {
  // Drain any request body, then answer a small fixed response.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
// No server-side idle timeout and no Keep-Alive hint: the clients' own reuse is measured.
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxConnections = 20_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
