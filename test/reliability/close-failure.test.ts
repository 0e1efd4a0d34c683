import { describe, expect, it } from 'vitest';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, openStore, rejectionOf } from './helpers.js';

/**
 * Under sync 'interval' and 'never' writes are acknowledged before they are durable; close() owes
 * them a final fsync. If that fsync fails, close() must say so, not resolve as if all were durable.
 */
describe('close() with a failing final fsync', () => {
  for (const sync of ['never', 'interval'] as const) {
    it(`rejects with ERR_STORE_FAILED under sync '${sync}' and still ends closed`, async () => {
      const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
      const store = await openStore(fs, { sync, syncIntervalMs: 60_000 });
      await store.put('k', 'v');
      fs.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
      const error = await rejectionOf(store.close());
      expectCode(error, 'ERR_STORE_FAILED');
      expect(store.state).toBe('closed');
      const reopened = await openStore(fs);
      await reopened.close();
    });
  }

  it('resolves when the store had already failed before close() (the failure was reported then)', async () => {
    const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 2 });
    const store = await openStore(fs);
    fs.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
    expectCode(await rejectionOf(store.put('k', 'v')), 'ERR_STORE_FAILED');
    await expect(store.close()).resolves.toBeUndefined();
  });
});
