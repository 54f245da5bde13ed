import * as http from 'node:http';
import type * as net from 'node:net';
import { request, type Dispatcher } from 'undici';
import type { RequestTracer } from './request-tracer.js';

/** One GET through an undici Dispatcher (the pool's), resolving with the body: the backend that answered. */
export function getVia(dispatcher: Dispatcher, url: string): () => Promise<string> {
  return async () => {
    const { statusCode, body } = await request(url, { dispatcher });
    const text = await body.text();
    if (statusCode !== 200) throw new Error(`status ${statusCode}: ${text}`);
    return text;
  };
}

/**
 * One GET through a Node `http.Agent` (the pool's `PooledAgent`, or Node's own), resolving with
 * the body. `lookup` resolves the host for agents that make their own sockets (Node's). With a
 * `tracer`, a failed request rejects with a LostRequestError that says when it was made and on
 * which connection.
 */
export function getWithAgent(agent: http.Agent, url: string, lookup?: net.LookupFunction, tracer?: RequestTracer): () => Promise<string> {
  return () =>
    new Promise<string>((resolve, reject) => {
      let fail: (error: Error) => void = reject;
      const get = () =>
        http.get(url, { agent, ...(lookup ? { lookup } : {}) }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => fail(error));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200) fail(new Error(`status ${res.statusCode}: ${text}`));
            else resolve(text);
          });
        });
      let req: http.ClientRequest;
      if (tracer === undefined) req = get();
      else {
        const traced = tracer.made(get);
        req = traced.req;
        fail = (error) => reject(traced.lost(error));
      }
      req.on('error', (error) => fail(error));
    });
}
