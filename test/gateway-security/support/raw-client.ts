import * as net from 'node:net';
import { parseResponseAt, StrictParseError, type ParsedResponse } from './strict-http1.js';

/** What came back on one raw connection. */
export interface RawExchange {
  /** The responses, parsed strictly, in order. */
  readonly responses: ParsedResponse[];
  /** Bytes after the last response that do not parse as one (should be none). */
  readonly leftover: string;
  /** A strict-parse error in what the gateway sent, if any. */
  readonly parseError: string | undefined;
}

/** Options of {@link rawExchange}. */
export interface RawExchangeOptions {
  /**
   * The methods of the requests expected to be answered, in order (a HEAD response has no
   * body). Once that many responses are in and the connection is still open, `sentinel` is
   * sent (with `Connection: close`) and read too: a response the gateway owes nobody would
   * arrive before the sentinel's, so the count cannot be fooled by a late extra response.
   */
  readonly methods: readonly string[];
  /** A request sent once the expected responses are in. Default: none, read until the gateway closes. */
  readonly sentinel?: string;
  /** A bound for a test that fails, not a wait: the exchange never takes this long when the gateway works. */
  readonly timeoutMs?: number;
}

/**
 * Sends `bytes` on a fresh TCP connection to `port` and reads the responses until the gateway
 * closes the connection (after the sentinel, or on its own).
 */
export function rawExchange(port: number, bytes: Buffer | string, options: RawExchangeOptions): Promise<RawExchange> {
  const methods = [...options.methods];
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let sentinelSent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No end to the exchange within ${options.timeoutMs ?? 10_000} ms; received so far: ${JSON.stringify(buffer.toString('latin1').slice(0, 2_000))}`));
    }, options.timeoutMs ?? 10_000);

    const parseAll = (closed: boolean): RawExchange => {
      const responses: ParsedResponse[] = [];
      let offset = 0;
      let parseError: string | undefined;
      while (offset < buffer.length) {
        const method = methods[responses.length] ?? 'GET';
        try {
          const parsed = parseResponseAt(buffer, offset, method, closed);
          if (parsed === null) break;
          responses.push(parsed.response);
          offset = parsed.end;
        } catch (error) {
          if (!(error instanceof StrictParseError)) throw error;
          parseError = error.message;
          break;
        }
      }
      return { responses, leftover: buffer.subarray(offset).toString('latin1'), parseError };
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (sentinelSent || options.sentinel === undefined) return;
      const sofar = parseAll(false);
      if (sofar.parseError === undefined && sofar.responses.length >= options.methods.length) {
        sentinelSent = true;
        methods.push('GET');
        socket.write(options.sentinel);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAll(true));
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}
