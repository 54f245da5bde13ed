import type { Duplex } from 'node:stream';

/**
 * The handler interface that undici's `Client` speaks inside (undici calls it the legacy
 * handler), and what `undici.request`, undici's `fetch` and Node's built-in `fetch` pass to
 * `dispatch`. Handlers of the newer interface (`onRequestStart`, `onResponseStart`, ...) are
 * adapted to it by {@link toLegacyHandler}.
 */
export interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean | void;
  onData?(chunk: Buffer): boolean | void;
  onComplete?(trailers: Buffer[] | string[] | null): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void;
  onBodySent?(...args: unknown[]): void;
  onRequestSent?(): void;
}

/** The response headers as the newer handler interface gets them. */
type HeaderRecord = Record<string, string | string[]>;

/** What a handler of the newer interface is given to steer its request. */
class Controller {
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  readonly #abort: (reason?: Error) => void;
  resumeRead: (() => void) | null = null;
  rawHeaders: Buffer[] | null = null;
  rawTrailers: Buffer[] | string[] | null = null;

  constructor(abort: (reason?: Error) => void) {
    this.#abort = abort;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#abort(reason);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.resumeRead?.();
  }
}

/** A handler of undici's newer interface. */
interface ControllerHandler {
  onRequestStart?(controller: Controller, context: unknown): void;
  onRequestUpgrade?(controller: Controller, statusCode: number, headers: HeaderRecord, socket: Duplex): void;
  onResponseStarted?(): void;
  onResponseStart?(controller: Controller, statusCode: number, headers: HeaderRecord, statusMessage?: string): void;
  onResponseData?(controller: Controller, chunk: Buffer): void;
  onResponseEnd?(controller: Controller, trailers: HeaderRecord): void;
  onResponseError?(controller: Controller, error: Error): void;
  onBodySent?(...args: unknown[]): void;
  onRequestSent?(): void;
}

/** Raw `[name, value, ...]` headers as a record (names lower-cased, repeated ones as arrays), as undici does. */
export function headerRecord(raw: ReadonlyArray<Buffer | string | ReadonlyArray<Buffer | string>> | null): HeaderRecord {
  const record: HeaderRecord = {};
  if (raw === null) return record;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).toLowerCase();
    const value = raw[i + 1] as Buffer | string | ReadonlyArray<Buffer | string>;
    const values = Array.isArray(value) ? value.map((item) => latin1(item)) : [latin1(value as Buffer | string)];
    for (const item of values) {
      const known = record[name];
      if (known === undefined) record[name] = item;
      else if (typeof known === 'string') record[name] = [known, item];
      else known.push(item);
    }
  }
  return record;
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

/** Adapts a handler of the newer interface to {@link LegacyHandler} (as undici's UnwrapHandler). */
class ControllerAdapter implements LegacyHandler {
  readonly #handler: ControllerHandler;
  #controller: Controller | null = null;

  constructor(handler: ControllerHandler) {
    this.#handler = handler;
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#controller = new Controller(abort);
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    const controller = this.#controllerOf();
    this.#handler.onRequestUpgrade?.(controller, statusCode, headerRecord(rawHeaders), socket);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    const controller = this.#controllerOf();
    controller.resumeRead = resume;
    controller.rawHeaders = rawHeaders;
    this.#handler.onResponseStart?.(controller, statusCode, headerRecord(rawHeaders), statusText);
    return !controller.paused;
  }

  onData(chunk: Buffer): boolean {
    const controller = this.#controllerOf();
    this.#handler.onResponseData?.(controller, chunk);
    return !controller.paused;
  }

  onComplete(trailers: Buffer[] | string[] | null): void {
    const controller = this.#controllerOf();
    controller.rawTrailers = trailers;
    this.#handler.onResponseEnd?.(controller, headerRecord(trailers));
  }

  onError(error: Error): void {
    if (this.#handler.onResponseError === undefined) throw error;
    this.#handler.onResponseError(this.#controllerOf(), error);
  }

  onBodySent(...args: unknown[]): void {
    this.#handler.onBodySent?.(...args);
  }

  onRequestSent(): void {
    this.#handler.onRequestSent?.();
  }

  #controllerOf(): Controller {
    // An error before onConnect (a bad option) still gets a controller to report on.
    return (this.#controller ??= new Controller(() => undefined));
  }
}

/**
 * The handler as a {@link LegacyHandler}: itself, or adapted when it speaks the newer
 * interface (it has `onRequestStart`: undici's own test, see `prepareDispatch`).
 */
export function toLegacyHandler(handler: object): LegacyHandler {
  return typeof (handler as ControllerHandler).onRequestStart === 'function' ? new ControllerAdapter(handler as ControllerHandler) : (handler as LegacyHandler);
}
