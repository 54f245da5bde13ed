import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request } from 'undici';
import { ConnectionPool, DIAGNOSTICS_CHANNEL_PREFIX, type ConnectionClosedEvent } from 'reactive-connection-pool';

const origin = process.env.API_ORIGIN ?? 'http://127.0.0.1:8080';

// Anywhere in the process, with no reference to the pool (an APM agent, a logger): the
// event as events$ gives it. Nothing is built for a channel nobody subscribes to.
const channel = `${DIAGNOSTICS_CHANNEL_PREFIX}connection-closed`;
const onClosed = (message: unknown): void => {
  const event = message as ConnectionClosedEvent;
  console.log('closed', event.address, event.reason);
};
subscribe(channel, onClosed);

const pool = new ConnectionPool();
const { body } = await request(`${origin}/items/1`, { dispatcher: pool.dispatcher() });
await body.text();
await pool.close(); // closed http://127.0.0.1:8080#… pool-closed
unsubscribe(channel, onClosed);
