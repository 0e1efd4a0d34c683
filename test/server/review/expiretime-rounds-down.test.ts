/**
 * Redis's EXPIRETIME is ttlGenericCommand(c, 0, 1): (expire + 500) / 1000, rounded like TTL
 * (src/expire.c). key-commands.ts floors it: Math.floor(expiresAt / 1000).
 */
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';

let serving: Served | undefined;
let redis: Redis | undefined;
afterEach(async () => {
  redis?.disconnect();
  await serving?.close();
  serving = undefined;
});

it('EXPIRETIME of a key expiring at …800 ms rounds to the nearest second', async () => {
  serving = await served();
  redis = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  await redis.set('k', 'v');
  const at = 4_102_444_800_800; // 2100-01-01T00:00:00.800Z
  expect(await redis.pexpireat('k', at)).toBe(1);
  expect(await redis.pexpiretime('k')).toBe(at);
  expect(await redis.expiretime('k')).toBe(4_102_444_801); // Redis: (at + 500) / 1000
});
