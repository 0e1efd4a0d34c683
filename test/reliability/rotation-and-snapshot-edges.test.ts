/**
 * Edges the main suites do not reach: the interval fsync timer firing while a segment rotates, a write
 * refused after a failed fsync, limits under which a put would not fit one WAL record, a failure
 * while deleting an older snapshot or creating the temporary of a new one, and files in the
 * directory that are not the store's. Each case pins what the store does there.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { SlowFileSystem } from '../helpers/slow-file-system.js';
import { expectCode, openStore, rejectionOf } from './helpers.js';

describe('edges of WAL rotation, snapshots and limits', () => {
  it("sync 'interval': the periodic fsync never touches the handle while a segment rotates", async () => {
    const fs = new SlowFileSystem(new MemoryFileSystem(), 30); // syncDir in createSegment takes 30 ms
    const store = await DurableKVStore.open('/db', { fs, sync: 'interval', syncIntervalMs: 5, autoSnapshot: false });
    const errors: Error[] = [];
    store.on('error', (error) => errors.push(error));
    await store.put('a', '1');
    await store.snapshot(); // rotates the WAL at its barrier while the 5 ms timer keeps firing
    expect(store.state).toBe('ready');
    expect(errors).toEqual([]);
    await store.close();
  });

  it("sync 'always': a put refused because its fsync failed is not served after close and reopen", async () => {
    const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const store = await openStore(fs);
    await store.put('k', 'old');
    fs.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
    expectCode(await rejectionOf(store.put('k', 'new')), 'ERR_STORE_FAILED');
    await store.close();
    fs.clearFaults();
    const reopened = await openStore(fs);
    expect(reopened.get('k')).toBe('old');
    await reopened.close();
  });

  it('refuses limits under which one put could not fit one WAL record', async () => {
    const error = await rejectionOf(
      DurableKVStore.open('/db', { fs: new MemoryFileSystem(), keyBytesMax: 1024, valueBytesMax: 256 * 1024 * 1024 }),
    );
    expectCode(error, 'ERR_INVALID_ARG');
  });

  it('a failure deleting an older snapshot does not fail the new, durable one', async () => {
    const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const store = await openStore(fs);
    await store.put('a', '1');
    await store.snapshot();
    await store.put('b', '2');
    fs.failNth('unlink', 1, 'EIO', { pathIncludes: '.snap' });
    const result = await store.snapshot();
    expect(store.state).toBe('ready');
    expect(store.stats().snapshotSeq).toBe(result.seq);
    await store.put('c', '3');
    await store.close();
    fs.clearFaults();
    const reopened = await openStore(fs);
    expect(reopened.recoveryReport.snapshot?.seq).toBe(result.seq);
    expect([...reopened.keys()].sort()).toEqual(['a', 'b', 'c']);
    await reopened.close();
  });

  it('a failure opening the snapshot temporary fails the store but leaves reads whole', async () => {
    const fs = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const store = await openStore(fs);
    await store.put('a', '1');
    fs.failNth('openAppend', 1, 'EIO', { pathIncludes: '.snap.tmp' });
    expectCode(await rejectionOf(store.snapshot()), 'ERR_STORE_FAILED');
    expect(store.state).toBe('failed');
    expect(store.get('a')).toBe('1');
    await store.close();
  });

  it("leaves a user's own .tmp file in the directory alone", async () => {
    const fs = new MemoryFileSystem();
    fs.writeFileDurable('/db/notes.tmp', Buffer.from('mine'));
    const store = await openStore(fs);
    await store.close();
    expect(fs.fileBytes('/db/notes.tmp')).toEqual(new Uint8Array(Buffer.from('mine')));
  });
});
