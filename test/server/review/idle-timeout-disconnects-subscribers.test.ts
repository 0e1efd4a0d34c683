/**
 * Redis's `timeout` never closes a pub/sub client (clientsCronHandleTimeout skips CLIENT_PUBSUB): a
 * subscriber may wait silently for a rare message or keyspace event. connection.ts applies
 * idleTimeoutMs to every connection, so a subscriber on a quiet channel is cut off.
 */
import { afterEach, expect, it } from 'vitest';
import { rawExchange, type Served, served } from '../helpers.js';

let serving: Served | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

it('a subscriber waiting on a quiet channel outlives idleTimeoutMs', async () => {
  serving = await served({ idleTimeoutMs: 200 });
  // rawExchange returns when the server closes, or after 800 ms of quiet.
  const { reply, closed } = await rawExchange(serving.port, 'SUBSCRIBE quiet\r\n', 800);
  expect(reply).toBe('*3\r\n$9\r\nsubscribe\r\n$5\r\nquiet\r\n:1\r\n');
  expect(closed).toBe(false);
});
