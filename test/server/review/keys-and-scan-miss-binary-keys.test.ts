/**
 * KEYS and SCAN MATCH with an ASCII literal prefix walk only the store range with that prefix
 * (keyspace-commands.ts rangeFor). A key whose bytes are not UTF-8 is stored as "\0b" + bytes
 * (byte-text.ts), which does not start with the prefix: such keys are never found.
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

it('KEYS a* and SCAN 0 MATCH a* find the key "a\\xff"', async () => {
  serving = await served();
  redis = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  const key = Buffer.from([0x61, 0xff]);
  await redis.set(key, 'v');
  await redis.set('ab', 'v');
  expect(await redis.exists(key)).toBe(1);
  const keys = await redis.keysBuffer('a*');
  expect(keys.map((k) => k.toString('hex')).sort()).toEqual(['6162', '61ff']);
  const [, scanned] = await redis.scanBuffer('0', 'MATCH', 'a*', 'COUNT', '100');
  expect(scanned.map((k) => k.toString('hex')).sort()).toEqual(['6162', '61ff']);
});
