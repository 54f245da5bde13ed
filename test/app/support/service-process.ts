import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The built service as `npm start` runs it (`node dist/main.js`), in a child process with
 * only the environment given (and PATH), its output captured.
 */
export class ServiceProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  readonly #child: ChildProcess;
  #exit: Exit | undefined;
  /** Called on every new output and on exit. */
  #onChange = new Set<() => void>();

  private constructor(child: ChildProcess) {
    this.#child = child;
    const changed = (): void => {
      for (const listener of [...this.#onChange]) listener();
    };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      changed();
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      changed();
    });
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.#exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      changed();
      return this.#exit;
    });
  }

  static start(entry: string, env: Record<string, string>): ServiceProcess {
    return new ServiceProcess(spawn(process.execPath, [entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get pid(): number {
    return this.#child.pid as number;
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /**
   * Resolves with the first match of `pattern` in stdout or stderr, as the output arrives. The
   * default bound is only against a hang: a Nest boot on a loaded 2-core machine takes seconds.
   */
  async waitForOutput(pattern: RegExp, timeoutMs = 45_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (this.#exit !== undefined) throw new Error(`The service exited (${JSON.stringify(this.#exit)}) before printing ${pattern}:\n${this.output}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${pattern} in the output:\n${this.output}`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#onChange.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#onChange.add(done);
      });
    }
  }

  /** The dashboard's URL from the start banner, once it is printed: the service's base URL. */
  async baseUrl(): Promise<string> {
    const [, url] = await this.waitForOutput(/Dashboard\s+(http:\/\/\S+?)\/\s/);
    return url as string;
  }

  /** Resolves with the exit, or fails after `timeoutMs`. */
  async exit(timeoutMs = 45_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`The service did not exit within ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** Kills it if it is still running (for afterEach). */
  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#child.kill('SIGKILL');
    await this.exited;
  }
}
