/**
 * In Redis, UNWATCH inside MULTI is queued (only EXEC, DISCARD, MULTI, WATCH, QUIT, RESET run at
 * once), so EXEC still aborts when a WATCHed key changed. Here 'unwatch' is in transactionControl:
 * it runs at once, clears the watched keys, and EXEC commits despite the change.
 */
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';
import { RawClient, resp } from './raw-client.js';

let serving: Served | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await serving?.close();
  serving = undefined;
});

it('WATCH w; MULTI; (w changes); UNWATCH; SET j 1; EXEC answers null and writes nothing', async () => {
  serving = await served();
  await serving.store.put('w', '1');
  const a = await RawClient.connect(serving.port);
  const b = await RawClient.connect(serving.port);
  clients.push(a, b);
  expect(await a.send(Buffer.concat([resp('WATCH', 'w'), resp('MULTI')]))).toBe('+OK\r\n+OK\r\n');
  expect(await b.send(resp('SET', 'w', '2'))).toBe('+OK\r\n');
  expect(await a.send(Buffer.concat([resp('UNWATCH'), resp('SET', 'j', '1'), resp('EXEC')]))).toBe('+QUEUED\r\n+QUEUED\r\n*-1\r\n');
  expect(serving.store.get('j')).toBeUndefined();
});
