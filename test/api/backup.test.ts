/**
 * backup(toDir): a consistent copy as of one seq, taken while writes go on, that open(toDir) opens
 * with versions and expiry times; the store's own files and events are untouched.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';

async function open(fs: MemoryFileSystem | FaultyFileSystem, dir = '/db') {
  return (await DurableKVStore.open(dir, { fs })) as DurableKVStore<string>;
}

describe('backup', () => {
  it('copies the store as of one seq while writes go on; the copy opens with versions and expiries', async () => {
    const fs = new MemoryFileSystem();
    const store = await open(fs);
    await store.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${i}` })));
    await store.put('ttl', 'x', { ttlMs: 3_600_000 });
    let snapshotEvents = 0;
    store.on('snapshot', () => snapshotEvents++);
    const writing = Promise.all(Array.from({ length: 200 }, (_, i) => store.put(`k${i}`, `changed${i}`)));
    const result = await store.backup('/backup');
    await writing;
    expect(snapshotEvents).toBe(0);
    // Exactly the writes up to result.seq: each of the racing puts is either in it or not, by its seq.
    const copy = await open(fs, '/backup');
    expect(copy.stats().lastSeq).toBe(result.seq);
    expect(copy.size).toBe(2001);
    expect(copy.getEntry('ttl')).toEqual(store.getEntry('ttl'));
    for (let i = 0; i < 200; i++) {
      const live = store.getEntry(`k${i}`);
      const copied = copy.getEntry(`k${i}`);
      if ((live?.version as number) <= result.seq) expect(copied).toEqual(live);
      else expect(copied?.value).toBe(`v${i}`);
    }
    await copy.put('more', 'writes');
    await copy.close();
    expect(store.get('more')).toBeUndefined();
    await store.close();
  });

  it('survives a power loss once it resolved', async () => {
    const fs = new MemoryFileSystem();
    const store = await open(fs);
    await store.put('a', '1');
    await store.backup('/nested/backup');
    fs.crash();
    const copy = await open(fs, '/nested/backup');
    expect(copy.get('a')).toBe('1');
    await copy.close();
  });

  it('refuses a directory that holds a store, or the store itself, with ERR_INVALID_ARG', async () => {
    const fs = new MemoryFileSystem();
    const store = await open(fs);
    await store.put('a', '1');
    await store.backup('/b1');
    expectCode(await rejectionOf(store.backup('/b1')), 'ERR_INVALID_ARG');
    expectCode(await rejectionOf(store.backup('/db')), 'ERR_INVALID_ARG');
    expectCode(await rejectionOf(() => store.backup('' as string)), 'ERR_INVALID_ARG');
    await store.close();
  });

  it('a failed backup fails only the backup: the store goes on taking writes', async () => {
    const faulty = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const store = await open(faulty);
    await store.put('a', '1');
    faulty.failNth('append', 1, 'ENOSPC', { pathIncludes: '/full' });
    await expect(store.backup('/full')).rejects.toThrow();
    expect((await store.put('b', '2')).ok).toBe(true);
    expect(store.state).toBe('ready');
    await store.close();
  });
});
