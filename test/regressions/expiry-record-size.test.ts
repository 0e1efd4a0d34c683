/**
 * Regression (found by an independent review of the data model; fixed): active expiry's records bypass the recordBytesMax check every other write gets
 * (Engine.write). A slice of expired keys whose record passes 256 MiB reaches encodeWalRecord's
 * assert, inside the WAL actor's write try/catch: the store FAILS. Here two 130 MiB keys (allowed:
 * keyBytesMax + valueBytesMax under the record limit); 4097 keys of the default 64 KiB max do the same.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

describe('active expiry and the WAL record limit', () => {
  it('expiring keys whose deletes together pass recordBytesMax does not fail the store', async () => {
    const clock = { now: 1_700_000_000_000 };
    const keyBytes = 130 * 1024 * 1024;
    const store = (await DurableKVStore.open('/db', {
      fs: new MemoryFileSystem(),
      clock: () => clock.now,
      expiryIntervalMs: 20,
      keyBytesMax: keyBytes,
      valueBytesMax: 16,
      autoSnapshot: false,
    })) as DurableKVStore<string>;
    let failed: unknown;
    store.on('error', (error) => {
      failed = error;
    });
    await store.put('a'.repeat(keyBytes), 'x', { ttlMs: 10 });
    await store.put('b'.repeat(keyBytes), 'x', { ttlMs: 10 });
    clock.now += 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(store.state).toBe('ready');
    expect(failed).toBeUndefined();
    expect((await store.put('after', '1')).ok).toBe(true);
    await store.close();
  }, 60_000);
});
