/**
 * README: "a command that fails when run ... answers its error in place and the others commit, as
 * in Redis". TransactionView.put/delete check nothing the store checks (key and value size), so a
 * queued SET with a key over keyBytesMax is accepted by the view and the store refuses the whole
 * batch at commit: EXEC answers one error and none of the other commands' writes happen.
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

it('MULTI; SET a 1; SET <70 KB key> v; EXEC answers [OK, error] and writes a', async () => {
  serving = await served();
  client = await RawClient.connect(serving.port);
  const bigKey = 'k'.repeat(70 * 1024); // over the default keyBytesMax (64 KiB)
  const alone = await client.send(resp('SET', bigKey, 'v'));
  expect(alone.startsWith('-ERR')).toBe(true); // outside MULTI the store refuses it: fine
  const reply = await client.send(Buffer.concat([resp('MULTI'), resp('SET', 'a', '1'), resp('SET', bigKey, 'v'), resp('EXEC')]));
  expect(reply.startsWith('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n-ERR')).toBe(true);
  expect(serving.store.get('a')).toBe('1');
});
