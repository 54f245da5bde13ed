import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type * as http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { AddressResolver, type ConnectionHooks } from '../../src/pool/index.js';
import { Http2SessionTransport, STREAM_ID_RETIREMENT, type Http2SessionSettings } from '../../src/transport/index.js';
import { VirtualClock } from '../pool/support/virtual-time.js';

/** Just enough of a ClientHttp2Session for the transport, driven by the test. */
class FakeSession extends EventEmitter {
  closed = false;
  destroyed = false;
  refs = 0;
  remoteSettings: { maxConcurrentStreams?: number } = { maxConcurrentStreams: 10 };
  failNextRequest: Error | null = null;
  pings: Array<(error: Error | null) => void> = [];
  /** The id the next stream gets (client streams are odd), as a connected session numbers them at once. */
  nextStreamId = 1;

  request(): EventEmitter {
    if (this.failNextRequest) {
      const error = this.failNextRequest;
      this.failNextRequest = null;
      throw error;
    }
    const stream = Object.assign(new EventEmitter(), { id: this.nextStreamId });
    this.nextStreamId += 2;
    return stream;
  }

  ping(callback: (error: Error | null) => void): boolean {
    this.pings.push(callback);
    return true;
  }

  ref(): void {
    this.refs++;
  }

  unref(): void {
    this.refs--;
  }

  close(): void {
    this.closed = true;
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

const SETTINGS: Http2SessionSettings = {
  maxConcurrentStreams: 100,
  pingIntervalMs: 1_000,
  pingTimeoutMs: 500,
  initialWindowSize: 65_535,
  connectionWindowSize: 65_535,
};

function transportOn(session: FakeSession, socket?: net.Socket) {
  const calls: string[] = [];
  const hooks: ConnectionHooks = {
    capacityChanged: () => void calls.push('capacityChanged'),
    noNewExchanges: (reason) => void calls.push(`noNewExchanges:${reason ?? 'no-new-exchanges'}`),
  };
  const clock = new VirtualClock();
  const address = new AddressResolver().resolve('https://h2.test');
  const transport = new Http2SessionTransport(session as unknown as http2.ClientHttp2Session, address, SETTINGS, { hooks, scheduler: clock.scheduler }, socket ? { socket } : {});
  return { transport, calls, clock };
}

describe('Http2SessionTransport', () => {
  it('counts its streams, refs the session while any is open and unrefs it when idle', () => {
    const session = new FakeSession();
    const { transport } = transportOn(session);
    expect(session.refs).toBe(-1); // idle from the start
    const a = transport.request({}) as unknown as EventEmitter;
    const b = transport.request({}) as unknown as EventEmitter;
    expect([transport.activeStreams, session.refs]).toEqual([2, 0]);
    a.emit('close');
    b.emit('close');
    expect([transport.activeStreams, session.refs]).toEqual([0, -1]);
  });

  it('takes no new stream once out of stream ids, and tells the pool', () => {
    const session = new FakeSession();
    const { transport, calls } = transportOn(session);
    session.failNextRequest = Object.assign(new Error('out of streams'), { code: 'ERR_HTTP2_OUT_OF_STREAMS' });
    expect(() => transport.request({})).toThrow('out of streams');
    expect(transport.unfitReason).toBe('out-of-streams');
    expect(transport.isHealthy()).toBe(false);
    expect(calls).toEqual(['noNewExchanges:no-new-exchanges']);
  });

  it('retires itself half-way through its stream ids, as OkHttp does: the stream that reaches it still goes', () => {
    const session = new FakeSession();
    const { transport, calls } = transportOn(session);
    session.nextStreamId = STREAM_ID_RETIREMENT - 3;
    transport.request({});
    expect([transport.unfitReason, transport.isHealthy(), calls]).toEqual([null, true, []]);
    const last = transport.request({}) as unknown as EventEmitter & { id: number };
    expect(last.id).toBe(STREAM_ID_RETIREMENT - 1);
    expect(transport.unfitReason).toBe(null);
    const over = transport.request({}) as unknown as EventEmitter & { id: number };
    expect(over.id).toBe(STREAM_ID_RETIREMENT + 1);
    expect(transport.unfitReason).toBe('out-of-streams');
    expect(transport.isHealthy()).toBe(false);
    expect(calls).toEqual(['noNewExchanges:no-new-exchanges']);
    // Streams in flight go on: the session is drained, not closed.
    expect([transport.activeStreams, session.closed]).toEqual([3, false]);
  });

  it('reports GOAWAY once, with the last stream id, and stops pinging', () => {
    const session = new FakeSession();
    const { transport, calls, clock } = transportOn(session);
    session.emit('goaway', 0, 41);
    session.emit('goaway', 0, 41);
    expect(transport.goawayLastStreamId).toBe(41);
    expect(calls).toEqual(['noNewExchanges:no-new-exchanges']);
    clock.advanceBy(10_000);
    expect(session.pings).toHaveLength(0);
  });

  it('treats a peer limit of 0 as 1 and never goes above maxConcurrentStreams; a rise after GOAWAY is not reported', () => {
    const session = new FakeSession();
    const { transport, calls } = transportOn(session);
    session.remoteSettings = { maxConcurrentStreams: 0 };
    session.emit('remoteSettings');
    expect(transport.allocationLimit).toBe(1);
    session.remoteSettings = { maxConcurrentStreams: 1_000 };
    session.emit('remoteSettings');
    expect(transport.allocationLimit).toBe(100);
    session.emit('goaway', 0, 1);
    session.remoteSettings = { maxConcurrentStreams: 1 };
    session.emit('remoteSettings');
    session.remoteSettings = { maxConcurrentStreams: 50 };
    session.emit('remoteSettings');
    expect(calls).toEqual(['capacityChanged', 'noNewExchanges:no-new-exchanges']);
  });

  it('a PING that fails (the session went) stops the probe without calling the session unhealthy', () => {
    const session = new FakeSession();
    const { transport, calls, clock } = transportOn(session);
    clock.advanceBy(1_000);
    session.pings[0]?.(new Error('session closed'));
    clock.advanceBy(10_000);
    expect(transport.isHealthy()).toBe(true);
    expect(calls).toEqual([]);
  });

  it('closes at once (destroy, never the graceful close that waits for the peer), idle or busy, and reports its close to listeners added late', async () => {
    const idle = new FakeSession();
    const graceful = transportOn(idle).transport;
    graceful.close();
    expect([idle.closed, idle.destroyed]).toEqual([false, true]);
    expect(graceful.unfitReason).toBe('closed');
    let heard = false;
    graceful.on('close', () => (heard = true));
    await Promise.resolve();
    expect(heard).toBe(true);

    const busy = new FakeSession();
    const forced = transportOn(busy).transport;
    forced.request({});
    forced.close();
    expect([busy.closed, busy.destroyed]).toEqual([false, true]);
  });

  it('destroys its socket a turn after destroying the session, even when the session never says it closed', async () => {
    const session = new FakeSession();
    // A session destroyed while a write was under way on a dead connection: Node never finishes it.
    session.destroy = function (this: FakeSession) {
      this.destroyed = true;
    };
    const socket = new net.Socket();
    const { transport } = transportOn(session, socket);
    transport.close();
    expect(session.destroyed).toBe(true);
    expect(socket.destroyed).toBe(false); // the GOAWAY gets its turn first
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(socket.destroyed).toBe(true);
    transport.close(); // again: nothing more to do
    expect(socket.destroyed).toBe(true);
  });
});
