import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { BodyFraming } from '../upstream-client.js';

/** Where the shared listeners find their writer. */
const WRITER = Symbol('requestBodyWriter');

type WrittenBody = Readable & { [WRITER]?: RequestBodyWriter | null };
type WritingSocket = Socket & { [WRITER]?: RequestBodyWriter | null };

const LAST_CHUNK = '0\r\n\r\n';

/**
 * Streams a client's request body onto an upstream connection after its head, framed as the
 * gateway decided (`Content-Length`: as it comes; chunked: each piece as a chunk, then the
 * last chunk), with backpressure both ways: a connection that cannot take more pauses the
 * client's body until it drains.
 *
 * The head goes out with the first piece of the body (or with the end of an empty one), in
 * one write, as Node's `ClientRequest` sends it: a head written alone is a packet of its own
 * that wakes the upstream for nothing (45 µs of the gateway's CPU per 1 MiB upload,
 * bench/RESULTS.md, issue 15).
 *
 * It never ends or destroys either side: the exchange decides what a cut body or a failed
 * connection means. {@link RequestBodyWriter.stop} detaches it (the answer came first, or the
 * exchange failed); the bytes not written then make the connection unfit for another request.
 */
export class RequestBodyWriter {
  readonly #body: WrittenBody;
  readonly #socket: WritingSocket;
  readonly #chunked: boolean;
  /** The request head, until it is written with the first piece of the body. */
  #head: string | null;
  #done = false;

  constructor(head: string, body: Readable, socket: Socket, framing: BodyFraming) {
    this.#head = head;
    this.#body = body as WrittenBody;
    this.#socket = socket as WritingSocket;
    this.#chunked = framing.kind === 'chunked';
  }

  /** Whether the head has been written (the upstream may answer from then on). */
  get headWritten(): boolean {
    return this.#head === null;
  }

  /** Starts the flow. */
  start(): void {
    const body = this.#body;
    body[WRITER] = this;
    this.#socket[WRITER] = this;
    this.#socket.on('drain', onSocketDrain);
    body.on('data', onBodyData);
    body.on('end', onBodyEnd);
    // A body that was paused (or never flowed) starts now.
    body.resume();
  }

  /** Whether the body has been written whole. */
  get done(): boolean {
    return this.#done;
  }

  /** Detaches from both sides; the body is left paused or ended, the socket as it is. Idempotent. */
  stop(): void {
    const body = this.#body;
    if (body[WRITER] !== this) return;
    body[WRITER] = null;
    this.#socket[WRITER] = null;
    body.removeListener('data', onBodyData);
    body.removeListener('end', onBodyEnd);
    this.#socket.removeListener('drain', onSocketDrain);
  }

  /** @internal */
  write(chunk: Buffer | string): void {
    const socket = this.#socket;
    const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    // An empty piece: nothing to frame (an empty chunk would be the last one).
    if (size === 0) return;
    const head = this.#head;
    if (head !== null) {
      this.#head = null;
      socket.cork();
      socket.write(head, 'latin1');
    } else if (this.#chunked) {
      socket.cork();
    }
    let room: boolean;
    if (this.#chunked) {
      socket.write(`${size.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      room = socket.write('\r\n', 'latin1');
    } else {
      room = socket.write(chunk);
    }
    if (head !== null || this.#chunked) socket.uncork();
    if (!room) this.#body.pause();
  }

  /** @internal */
  drained(): void {
    this.#body.resume();
  }

  /** @internal */
  ended(): void {
    const head = this.#head ?? '';
    this.#head = null;
    if (this.#chunked) this.#socket.write(head + LAST_CHUNK, 'latin1');
    else if (head !== '') this.#socket.write(head, 'latin1');
    this.#done = true;
    this.stop();
  }
}

// Shared listeners (`this` is the body or the socket): no closure per request.
function onBodyData(this: WrittenBody, chunk: Buffer | string): void {
  this[WRITER]?.write(chunk);
}
function onBodyEnd(this: WrittenBody): void {
  this[WRITER]?.ended();
}
function onSocketDrain(this: WritingSocket): void {
  this[WRITER]?.drained();
}
