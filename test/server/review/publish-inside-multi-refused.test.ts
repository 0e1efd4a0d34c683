/**
 * Redis 7 queues PUBLISH inside MULTI (its flags are pubsub/loading/stale/fast, no "no-multi"): the
 * common "write and announce atomically" pattern. Here it is refused, and the transaction aborts.
 */
import { afterEach, expect, it } from 'vitest';
import { rawExchange, type Served, served } from '../helpers.js';

let serving: Served | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

it('MULTI / SET / PUBLISH / EXEC runs both, as in Redis', async () => {
  serving = await served();
  const { reply } = await rawExchange(serving.port, 'MULTI\r\nSET k v\r\nPUBLISH ch hello\r\nEXEC\r\n');
  // Redis 7: +OK +QUEUED +QUEUED *2 +OK :0
  expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:0\r\n');
});
