import type { Socket } from 'node:net';
import type { Address } from '../pool/index.js';
import { listenUntilSettled } from './establish.js';
import { ConnectError, ProxyTunnelError } from './errors.js';
import { discardSocket, resetReadingMode } from './socket-state.js';

/** A proxy that answers CONNECT with more header bytes than this is not a proxy we can talk to. */
const MAX_ANSWER_BYTES = 16 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** `host:port` as CONNECT wants it, with IPv6 literals in brackets. */
function authorityOf(address: Address): string {
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** The `Proxy-Authorization` header for the credentials in the proxy URL, if any. */
function proxyAuthorization(proxy: URL): string {
  if (proxy.username === '' && proxy.password === '') return '';
  // URL keeps them percent-encoded; the proxy wants them as the user wrote them.
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Proxy-Authorization: Basic ${Buffer.from(credentials, 'utf8').toString('base64')}\r\n`;
}

function refusal(statusLine: string, statusCode: number, proxy: URL): string {
  if (statusCode === 407) {
    return proxy.username === '' && proxy.password === ''
      ? 'the proxy requires authentication (407). Put the credentials in the proxy URL: http://user:password@proxy:port.'
      : 'the proxy rejected the credentials of the proxy URL (407). Check the user name and password.';
  }
  const shown = statusLine.length > 120 ? `${statusLine.slice(0, 120)}…` : statusLine;
  return `the proxy refused the tunnel: ${JSON.stringify(shown)}. Check that the proxy allows CONNECT to this host and port.`;
}

/**
 * Asks the proxy at the other end of `socket` (connected) for an HTTP CONNECT tunnel to
 * `address.host:address.port`, with `Proxy-Authorization: Basic` from the proxy URL's
 * credentials. On a 2xx answer, `adopt` runs synchronously with the socket, now carrying
 * the target's bytes (any the proxy sent after its answer are put back in the stream).
 *
 * Aborting `signal` destroys the socket and rejects with its reason. A refusal rejects with
 * {@link ProxyTunnelError} (`ERR_PROXY_TUNNEL`, `statusCode`); a socket error with
 * {@link ConnectError}. Messages name `String(address)`, never the credentials.
 */
export function requestTunnel<T>(
  socket: Socket,
  address: Address,
  signal: AbortSignal,
  adopt: (socket: Socket) => T | Promise<T>,
): Promise<T> {
  const proxy = address.proxy as URL;
  const target = String(address);
  return new Promise<T>((resolve, reject) => {
    let answer: Buffer = Buffer.alloc(0);
    const fail = (error: unknown): void => {
      detach();
      discardSocket(socket);
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      answer = answer.length === 0 ? chunk : Buffer.concat([answer, chunk]);
      const end = answer.indexOf(HEADER_END);
      if (end === -1) {
        if (answer.length > MAX_ANSWER_BYTES) {
          fail(new ProxyTunnelError('ERR_PROXY_TUNNEL', target, `the proxy's answer to CONNECT has no end of headers within ${MAX_ANSWER_BYTES} bytes. Check that the proxy URL points at an HTTP proxy.`));
        }
        return;
      }
      const statusLine = answer.subarray(0, answer.indexOf('\r\n')).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})\b/.exec(statusLine);
      if (match === null) {
        fail(new ProxyTunnelError('ERR_PROXY_TUNNEL', target, `the proxy answered CONNECT with ${JSON.stringify(statusLine.slice(0, 120))}, which is not HTTP. Check that the proxy URL points at an HTTP proxy.`));
        return;
      }
      const statusCode = Number(match[1]);
      if (statusCode < 200 || statusCode > 299) {
        fail(new ProxyTunnelError('ERR_PROXY_TUNNEL', target, refusal(statusLine, statusCode, proxy), statusCode));
        return;
      }
      detach();
      resetReadingMode(socket);
      // Bytes of the target that came with the answer go back for the next reader.
      const rest = answer.subarray(end + HEADER_END.length);
      if (rest.length > 0) socket.unshift(rest);
      let adopted: T | Promise<T>;
      try {
        adopted = adopt(socket);
      } catch (error) {
        discardSocket(socket);
        reject(error);
        return;
      }
      resolve(adopted);
    };
    const onError = (error: Error): void => fail(new ConnectError(target, error));
    const onClose = (): void =>
      fail(new ProxyTunnelError('ERR_PROXY_TUNNEL', target, 'the proxy closed the connection before answering CONNECT. Check the proxy URL and the proxy logs.'));
    const onAbort = (): void => fail(signal.reason);

    if (signal.aborted) {
      discardSocket(socket);
      reject(signal.reason);
      return;
    }
    const detach = listenUntilSettled(socket, { data: onData, error: onError, close: onClose }, signal, onAbort);
    const authority = authorityOf(address);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${proxyAuthorization(proxy)}\r\n`);
  });
}
