// The proxy a user writes by hand with node:http (issue 15's yardstick): every request under
// /proxy forwarded with http.request over one keep-alive http.Agent, bodies piped both ways.
// Run in its own process: `node hand-written-proxy.js <upstream port>`; sends its port to the parent.
import * as http from 'node:http';

const upstreamPort = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const path = req.url.startsWith('/proxy/') ? req.url.slice('/proxy'.length) : req.url;
  const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
