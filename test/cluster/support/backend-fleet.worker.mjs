// The backends of a simulated Service, in a thread of their own (their own event loop, as a
// pod's server has): one HTTP/1.1 server per loopback address, all on one port, each answering
// every request with its address. Driven by messages from BackendFleet (backends.ts).
// Each connection a backend closes is recorded with its place in the order of events shared
// with the test's thread (event-order.ts), so that the test can tell whether a request it lost
// on that connection was made before or after the backend had closed it.
import { once } from 'node:events';
import * as http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ addresses: string[], order: SharedArrayBuffer }} */
const { addresses, order } = workerData;
const count = new Int32Array(order);

/**
 * The connections the backends closed: which (the backend's address, then the client's
 * address and port, as the client names it: `127.0.0.2 127.0.0.1:40000`) and when, in the
 * shared order of events.
 * @type {Array<{ connection: string, at: number }>}
 */
const closes = [];

/**
 * Records when the backend closes `socket`: right after its `destroy()` returns (the kernel
 * has sent the FIN, or a RST if the client's bytes were unread; over loopback the kernel
 * hands it to the client's socket within that call, unless it is so loaded that it defers
 * its network work), or once an `end()` has sent the FIN (its 'finish', a little later),
 * whichever comes first. A connection the client closed first is recorded too; no request
 * is lost on those.
 */
function recordCloseOf(socket, backend) {
  const connection = `${backend} ${socket.remoteAddress}:${socket.remotePort}`;
  let recorded = false;
  const record = () => {
    if (recorded) return;
    recorded = true;
    closes.push({ connection, at: Atomics.add(count, 0, 1) + 1 });
  };
  const destroy = socket.destroy;
  socket.destroy = function destroyAndRecord(...args) {
    const result = destroy.apply(this, args);
    record();
    return result;
  };
  socket.once('finish', record);
}

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
      recordCloseOf(socket, this.address);
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
    else if (command === 'closes') result = closes;
    else if (command === 'close') for (const backend of backends.values()) await backend.close();
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
parentPort.postMessage({ ready: port });
