/**
 * Redis prints INCRBYFLOAT results with ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros cut —
 * never an exponent. Here String(number) gives "1e+21" and "1e-7". (The README documents the
 * double-vs-long-double precision difference, 0.30000000000000004, not exponent notation.)
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

it('INCRBYFLOAT prints plain decimals', async () => {
  serving = await served();
  redis = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  expect(await redis.incrbyfloat('big', '1e21')).toBe('1000000000000000000000');
  expect(await redis.incrbyfloat('small', '0.0000001')).toBe('0.0000001');
});
