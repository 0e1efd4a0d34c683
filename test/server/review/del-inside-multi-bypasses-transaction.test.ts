/**
 * DEL/UNLINK inside MULTI read and write `context.server.store` (the real store), not `context.store`
 * (the TransactionView): they do not see the transaction's own writes and write outside its batch.
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

it('MULTI; SET k v; DEL k; EXEC deletes k and counts 1, as in Redis', async () => {
  serving = await served();
  client = await RawClient.connect(serving.port);
  const reply = await client.send(Buffer.concat([resp('MULTI'), resp('SET', 'k', 'v'), resp('DEL', 'k'), resp('EXEC')]));
  expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n');
  expect(serving.store.get('k')).toBeUndefined();
});

it('MULTI; SET d new; UNLINK d; GET d; EXEC leaves d deleted (the UNLINK sees and removes the SET)', async () => {
  serving = await served();
  await serving.store.put('d', 'x');
  client = await RawClient.connect(serving.port);
  // UNLINK deletes the stored 'x' directly (outside the batch), GET sees the view's 'new', and the
  // batch then writes d = 'new': the key ends up present although the transaction deleted it.
  const reply = await client.send(
    Buffer.concat([resp('MULTI'), resp('SET', 'd', 'new'), resp('UNLINK', 'd'), resp('GET', 'd'), resp('EXEC')]),
  );
  expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:1\r\n$-1\r\n');
  expect(serving.store.get('d')).toBeUndefined();
});
