/**
 * EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT, or with a time already past, go through
 * updateKey → setExpiry (key-commands.ts), which writes to `context.server.store` (the real store),
 * not `context.store` (the TransactionView inside EXEC):
 *  - after a write to the key in the same transaction, the conditional write carries the view's
 *    negative version and the store refuses it (ERR_INVALID_ARG) → an error reply inside EXEC;
 *  - on a key the transaction did not write, the direct write lands outside the batch and changes
 *    the version the batch is conditional on, so EXEC retries — writing again each time — 1000 times.
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

it('MULTI; SET k v EX 10; EXPIRE k 100 GT; EXEC sets the value and the longer expiry', async () => {
  serving = await served();
  client = await RawClient.connect(serving.port);
  const reply = await client.send(
    Buffer.concat([resp('MULTI'), resp('SET', 'k', 'v', 'EX', '10'), resp('EXPIRE', 'k', '100', 'GT'), resp('EXEC')]),
  );
  expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n');
  expect(await client.send(resp('TTL', 'k'))).toBe(':100\r\n');
});

it('MULTI; SET k v; EXPIRE k -1; EXEC leaves k deleted', async () => {
  serving = await served();
  client = await RawClient.connect(serving.port);
  const reply = await client.send(Buffer.concat([resp('MULTI'), resp('SET', 'k', 'v'), resp('EXPIRE', 'k', '-1'), resp('EXEC')]));
  expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n');
  expect(serving.store.get('k')).toBeUndefined();
});

it('MULTI; EXPIRE k 100 XX; SET j 1; EXEC on an existing k commits once, promptly', async () => {
  serving = await served();
  await serving.store.put('k', 'v', { ttlMs: 10_000 });
  const seqBefore = serving.store.stats().lastSeq;
  client = await RawClient.connect(serving.port);
  const reply = await client.send(
    Buffer.concat([resp('MULTI'), resp('EXPIRE', 'k', '100', 'XX'), resp('SET', 'j', '1'), resp('EXEC')]),
    500,
  );
  expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n+OK\r\n');
  // One batch — not a thousand direct, conflicting expiry writes followed by an error.
  expect(serving.store.stats().lastSeq - seqBefore).toBeLessThanOrEqual(2);
});
