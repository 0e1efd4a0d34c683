/**
 * keyspaceEventsFlagsToString (Redis 7 notify.c) prints classes g$lshzxetdn (not m), then K, E, and
 * 'm' last; with every class of A set it prints "A" and no 'n'. normalized() prints 'm' among the
 * classes before K/E, and 'n' after "A".
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

it('CONFIG GET shows notify-keyspace-events as Redis prints it', async () => {
  serving = await served();
  redis = new Redis({ port: serving.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  const shown = async (value: string) => {
    await redis!.config('SET', 'notify-keyspace-events', value);
    return ((await redis!.config('GET', 'notify-keyspace-events')) as string[])[1];
  };
  const got = [await shown('mKE$'), await shown('nmKEA'), await shown('Em')];
  expect(got).toEqual(['$KEm', 'AKEm', 'Em']);
});
