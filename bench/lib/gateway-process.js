// The gateway as the benches run it: `node dist/main.js` (what `npm start` runs once built) in
// its own process, on a free port, waited for until its startup probe passes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** A port free on 127.0.0.1 now. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once GET /health/startup on `port` answers 200. */
export async function waitUntilUp(port) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/health/startup', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The `GLIBC_TUNABLES` that `npm start` (and the image) start the gateway with, read from
 * package.json's start script: the benches run the gateway as it is deployed.
 */
export function startTunables() {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));
  return /GLIBC_TUNABLES=\$\{GLIBC_TUNABLES:-([^}]+)\}/.exec(pkg.scripts.start)?.[1];
}

/**
 * Starts `node [nodeArgs] <entry>` with `env` (and PATH, and the GLIBC_TUNABLES of `npm
 * start` unless `env` sets its own) on a free port; resolves once it is up, with its port and
 * a stop() that sends SIGTERM (its graceful drain) and waits for the exit.
 */
export async function startGateway(entry, env, nodeArgs = []) {
  const port = await freePort();
  const tunables = startTunables();
  const base = { PATH: process.env.PATH, ...(tunables === undefined ? {} : { GLIBC_TUNABLES: tunables }) };
  const child = spawn(process.execPath, [...nodeArgs, entry], { env: { ...base, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitUntilUp(port);
  return {
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
