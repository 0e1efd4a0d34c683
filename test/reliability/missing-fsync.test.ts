/**
 * One test per fsync the engine owes: each fails if that fsync is left out.
 * Power loss is MemoryFileSystem.crash(): unsynced bytes and un-dir-synced creates/renames vanish.
 *
 *   WAL data fsync before acknowledging (WalActor #syncLoop)            -> "WAL data"
 *   directory fsync of a new segment (SegmentWriter #createSegment)     -> "segment directory entry"
 *   snapshot file fsync (SnapshotActor #writeFile)                      -> "snapshot" (both tests)
 *   directory fsync after the snapshot rename (SnapshotActor #writeDurably) -> "snapshot", second and third tests
 *   fsync of a full segment at rotation (SegmentWriter rotate)         -> "rotation", under 'never' and 'interval'
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWalSegmentName, snapshotName } from '../../src/format/file-names.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { contentsOf, crashImage, dir, expectReopenedContents, modelContents, openStore, putMany, withHook } from './helpers.js';

describe('WAL data: an acknowledged write is fsynced', () => {
  it('survives a power loss right after it is acknowledged', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    // The segment's directory entry is made durable here by hand, so that only the data fsync is tested.
    await memory.syncDir(dir);
    const model = new Map<string, string>();
    await putMany(store, model, 10);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.put(`burst${i}`, `v${i}`)));
    for (let i = 0; i < 30; i++) model.set(`burst${i}`, `v${i}`);
    await store.batch([
      { type: 'delete', key: 'k3' },
      { type: 'put', key: 'b', value: 'batched' },
    ]);
    model.delete('k3');
    model.set('b', 'batched');
    memory.crash();
    await expectReopenedContents(memory, model);
  });
});

describe('segment directory entry: a new segment is durable before a write in it is acknowledged', () => {
  it('keeps writes acknowledged in the second and later segments across a power loss', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { segmentBytesMax: 256 });
    const model = new Map<string, string>();
    await putMany(store, model, 40);
    expect(store.stats().walSegments, 'the writes span several segments').toBeGreaterThanOrEqual(3);
    memory.crash();
    const reopened = await openStore(memory);
    expect(reopened.recoveryReport.segmentsRead).toBeGreaterThanOrEqual(3);
    expect(contentsOf(reopened)).toEqual(modelContents(model));
    await reopened.close();
  });
});

describe('rotation: a full segment is fsynced before the next one starts, whatever the sync mode', () => {
  it.each(['never', 'interval'] as const)("leaves a readable log holding every full segment under sync: '%s'", async (sync) => {
    const memory = new MemoryFileSystem();
    // An interval far longer than the test: no timed fsync runs, only the ones rotation owes.
    const store = await openStore(memory, { sync, syncIntervalMs: 3_600_000, segmentBytesMax: 256 });
    const model = new Map<string, string>();
    const states: Array<Record<string, string>> = [modelContents(model)];
    for (let i = 0; i < 40; i++) {
      await store.put(`k${i % 15}`, `v${i}`);
      model.set(`k${i % 15}`, `v${i}`);
      states.push(modelContents(model));
    }
    const segments = (await memory.readdir(dir)).filter((name) => name.endsWith('.wal'));
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const newestFirstSeq = parseWalSegmentName(segments.at(-1)!)!;
    memory.crash();
    // Unsynced writes may be lost, but only from the newest segment: never a hole, never ERR_STORE_CORRUPT.
    const reopened = await openStore(memory);
    const lastSeq = reopened.stats().lastSeq;
    expect(lastSeq).toBeGreaterThanOrEqual(newestFirstSeq - 1);
    expect(contentsOf(reopened)).toEqual(states[lastSeq]);
    await reopened.close();
  });
});

describe('snapshot: the file is fsynced, and so is the directory after its rename', () => {
  it('loads the snapshot that snapshot() resolved with after a power loss, and loses nothing', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { segmentBytesMax: 256 });
    const model = new Map<string, string>();
    await putMany(store, model, 30);
    const result = await store.snapshot();
    await putMany(store, model, 3, 'after');
    memory.crash();
    const reopened = await openStore(memory);
    expect(reopened.recoveryReport.snapshot?.file).toBe(snapshotName(result.seq));
    expect(contentsOf(reopened)).toEqual(modelContents(model));
    await reopened.close();
  });

  it('deletes no WAL segment before the snapshot covering it is durable', async () => {
    const memory = new MemoryFileSystem();
    const deleted: string[] = [];
    const images: MemoryFileSystem[] = [];
    // At each segment deletion, the disk as a power loss would leave it if that deletion (and the earlier
    // ones) had already reached the disk, whatever else had not.
    const fs = withHook(memory, (op, [target]) => {
      if (op !== 'unlink' || !String(target).endsWith('.wal')) return;
      deleted.push(path.basename(String(target)));
      images.push(crashImage(memory, deleted));
    });
    const store = await openStore(fs, { segmentBytesMax: 256, snapshotGenerations: 1 });
    const model = new Map<string, string>();
    await putMany(store, model, 30);
    await store.snapshot();
    await store.close();
    expect(deleted.length, 'the snapshot compacted the WAL').toBeGreaterThanOrEqual(2);
    for (const image of images) await expectReopenedContents(image, model);
  });

  it('is durable once snapshot() resolves even when compaction could delete nothing', async () => {
    const memory = new MemoryFileSystem();
    const faulty = new FaultyFileSystem({ inner: memory, seed: 3 });
    const store = await openStore(faulty, { segmentBytesMax: 256 });
    const model = new Map<string, string>();
    await putMany(store, model, 30);
    // A failed deletion is harmless (recovery skips covered segments), so the snapshot still succeeds.
    faulty.failNth('unlink', 1, 'EIO', { pathIncludes: '.wal' });
    const result = await store.snapshot();
    expect(store.state).toBe('ready');
    faulty.crash();
    const reopened = await openStore(memory);
    expect(reopened.recoveryReport.snapshot?.file).toBe(snapshotName(result.seq));
    expect(contentsOf(reopened)).toEqual(modelContents(model));
    await reopened.close();
  });
});
