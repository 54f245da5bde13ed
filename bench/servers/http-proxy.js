// The proxy people install for this: `http-proxy` (node-http-proxy), set up as its README
// shows, with a keep-alive agent to the upstream. Every request under /proxy is forwarded.
// Run in its own process: `node http-proxy.js <upstream port>`; sends its port to the parent.
import * as http from 'node:http';
import httpProxy from 'http-proxy';

const upstreamPort = Number(process.argv[2]);
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent: new http.Agent({ keepAlive: true }) });
proxy.on('error', (_error, _req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/proxy/')) req.url = req.url.slice('/proxy'.length);
  proxy.web(req, res);
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
