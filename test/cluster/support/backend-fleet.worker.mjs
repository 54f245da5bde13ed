// The backends of a simulated Service, in a thread of their own (their own event loop, as a
// pod's server has): one HTTP/1.1 server per loopback address, all on one port, each answering
// every request with its address. Driven by messages from BackendFleet (backends.ts).
import { once } from 'node:events';
import * as http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ addresses: string[] }} */
const { addresses } = workerData;

class Backend {
  constructor(address) {
    this.address = address;
    /** Open connections, with how many requests each has carried. */
    this.sockets = new Map();
    this.stopping = false;
    this.server = null;
    /** Called after each request while someone waits for every connection to be used. */
    this.onRequest = null;
  }

  async listen(port) {
    const server = http.createServer();
    // The clients decide when connections end, not a server timer.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket) => {
      socket.on('error', () => undefined);
      this.sockets.set(socket, 0);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      this.sockets.set(req.socket, (this.sockets.get(req.socket) ?? 0) + 1);
      req.resume();
      req.once('end', () => {
        res.setHeader('content-type', 'text/plain');
        res.end(this.address);
      });
      res.once('finish', () => {
        // Stopping: a connection is idle once its response is out; close it then.
        if (this.stopping) setImmediate(() => server.closeIdleConnections());
      });
      this.onRequest?.();
    });
    this.server = server;
    this.stopping = false;
    server.listen(port, this.address);
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    return server.address().port;
  }

  everyConnectionUsed() {
    for (const requests of this.sockets.values()) if (requests === 0) return false;
    return true;
  }

  /**
   * Waits until no connection is waiting for its first request, then stops as a server does
   * at a rolling restart (Go's Shutdown): no new connection, idle ones closed at once, busy
   * ones as soon as their response is out. Resolves with how many connections it closed.
   */
  async stop() {
    if (!this.everyConnectionUsed()) {
      await new Promise((resolve) => {
        this.onRequest = () => {
          if (this.everyConnectionUsed()) resolve();
        };
      });
      this.onRequest = null;
    }
    const closing = this.sockets.size;
    this.stopping = true;
    const server = this.server;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeIdleConnections();
    await closed;
    return closing;
  }

  async close() {
    const server = this.server;
    if (server === null) return;
    this.stopping = true;
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
}

const backends = new Map(addresses.map((address) => [address, new Backend(address)]));

async function listenAll() {
  for (let attempt = 0; ; attempt++) {
    let port = 0;
    try {
      for (const backend of backends.values()) port = await backend.listen(port);
      return port;
    } catch (error) {
      for (const backend of backends.values()) await backend.close();
      if (error.code !== 'EADDRINUSE' || attempt >= 20) throw error;
    }
  }
}

const port = await listenAll();
parentPort.on('message', async ({ id, command, address }) => {
  try {
    let result = null;
    if (command === 'stop') result = await backends.get(address).stop();
    else if (command === 'restart') await backends.get(address).listen(port);
    else if (command === 'close') for (const backend of backends.values()) await backend.close();
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
parentPort.postMessage({ ready: port });
