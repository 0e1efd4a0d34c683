/**
 * Redis's string2ll refuses "-0", so INCR of "-0" is "ERR value is not an integer or out of range".
 * The store's increment (memtable/resolve-intent.ts decimalInteger /^-?(0|[1-9]…)$/) accepts it, so
 * INCR answers 1 — while the same INCR inside MULTI (transaction-view.ts decimalInteger, which
 * refuses "-0") answers the error: one command, two answers.
 */
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';
import { RawClient, resp } from './raw-client.js';

let serving: Served | undefined;
let client: RawClient | undefined;
afterEach(async () => {
  client?.destroy();
  await serving?.close();
  serving = undefined;
});

it('INCR of "-0" is refused, outside MULTI as inside', async () => {
  serving = await served();
  client = await RawClient.connect(serving.port);
  await serving.store.put('k', '-0');
  const notInteger = '-ERR value is not an integer or out of range\r\n';
  expect(await client.send(Buffer.concat([resp('MULTI'), resp('INCR', 'k'), resp('EXEC')]))).toBe(`+OK\r\n+QUEUED\r\n*1\r\n${notInteger}`);
  expect(await client.send(resp('INCR', 'k'))).toBe(notInteger);
});
