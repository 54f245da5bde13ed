// Starts a benchmark server in a child process (with `args`, and `env`) and resolves with its port and a stop().
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export async function forkServer(relativePath, args = [], env = process.env) {
  const child = fork(fileURLToPath(new URL(`../${relativePath}`, import.meta.url)), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const [message] = await once(child, 'message');
  return {
    port: message.port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}
