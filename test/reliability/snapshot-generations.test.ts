/**
 * Two snapshot generations: the previous snapshot (or, before the second snapshot, the empty store)
 * and the WAL since it stay on disk until the newest snapshot has been written, fsynced, read back
 * and checked, so one damaged byte in the newest snapshot is refused at open and repaired with no loss.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import type { FileHandle, FileSystem } from '../../src/fs/file-system.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { walkSegment } from '../../src/format/wal-reader.js';
import { parseWalSegmentName } from '../../src/format/file-names.js';
import { entryFormatFor, snapshotHeaderBytes, snapshotHeaderSeqOffset, visitEntries } from '../../src/format/snapshot-format.js';
import {
  contentsOf,
  diskImage,
  dir,
  expectCode,
  flipped,
  modelContents,
  openStore,
  putMany,
  rejectionOf,
  storeFiles as filesOf,
  type StoreFiles,
} from './helpers.js';

/** A fresh file system holding `files`, durable, with one bit of `name` at `offset` flipped. */
function withFlip(files: StoreFiles, name: string, offset: number, mask: number): MemoryFileSystem {
  return diskImage(files, name, flipped(files.get(name)!, offset, mask));
}

const newestSnapshot = (files: Map<string, Uint8Array>) =>
  [...files.keys()]
    .filter((name) => name.endsWith('.snap'))
    .sort()
    .at(-1)!;

describe('a damaged newest snapshot', () => {
  it('with two generations: refused at open, then repaired with every write (5000 keys in a batch, snapshot, one put)', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    const model = new Map<string, string>();
    const batch = Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: `key${i}`, value: `value ${i}` }));
    await store.batch(batch);
    for (const { key, value } of batch) model.set(key, value);
    await store.snapshot();
    await putMany(store, model, 1, 'after');
    await store.close();
    const files = await filesOf(memory);
    const snap = newestSnapshot(files);
    const damaged = withFlip(files, snap, Math.floor(files.get(snap)!.byteLength / 2), 0x08);

    const error = await rejectionOf(openStore(damaged));
    expectCode(error, 'ERR_STORE_CORRUPT');
    expect(error).toMatchObject({ file: snap });
    expect(error.message).toMatch(/repair restores every write from the empty store and the WAL after it: nothing is lost/);

    const report = await DurableKVStore.repair(dir, { fs: damaged });
    expect(report.repaired).toMatchObject({ file: snap, droppedBytes: 0, snapshotsDeleted: [snap], restoredFrom: 'the empty store' });
    const repaired = await openStore(damaged);
    expect(repaired.size).toBe(5001);
    expect(contentsOf(repaired)).toEqual(modelContents(model));
    await repaired.close();
  });

  it('restores from the previous snapshot and the WAL since it when there is one', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    const model = new Map<string, string>();
    await putMany(store, model, 40, 'first');
    await store.snapshot();
    await putMany(store, model, 40, 'second');
    await store.snapshot();
    await putMany(store, model, 3, 'third');
    await store.close();
    const files = await filesOf(memory);
    const snaps = [...files.keys()].filter((name) => name.endsWith('.snap')).sort();
    expect(snaps).toHaveLength(2);
    const damaged = withFlip(files, snaps[1], 40, 0x01);
    expectCode(await rejectionOf(openStore(damaged)), 'ERR_STORE_CORRUPT');
    const report = await DurableKVStore.repair(dir, { fs: damaged });
    expect(report.repaired).toMatchObject({ snapshotsDeleted: [snaps[1]], restoredFrom: snaps[0] });
    expect(report.freshSnapshotSeq).toBe(report.lastSeq);
    const repaired = await openStore(damaged);
    expect(contentsOf(repaired)).toEqual(modelContents(model));
    // Repair wrote a fresh snapshot of what it restored: two generations again, ready for the next fault.
    const after = (await damaged.readdir(dir)).filter((name) => name.endsWith('.snap'));
    expect(after).toHaveLength(2);
    expect(after[0]).toBe(snaps[0]);
    expect(repaired.recoveryReport.snapshot?.file).toBe(after[1]);
    expect(repaired.recoveryReport.snapshot?.seq).toBe(repaired.stats().lastSeq);
    await repaired.close();
  });

  it('with one generation: refused at open, then salvaged: every other block kept, the lost keys named', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { snapshotGenerations: 1, snapshotBlockBytes: 1024 });
    const model = new Map<string, string>();
    for (let i = 0; i < 50; i++) await store.put(`key${i}`, `value ${i} `.repeat(8));
    for (let i = 0; i < 50; i++) model.set(`key${i}`, `value ${i} `.repeat(8));
    await store.snapshot();
    await putMany(store, model, 1, 'after');
    await store.close();
    const files = await filesOf(memory);
    const snap = newestSnapshot(files);
    const [, second] = entriesBlocksOf(files.get(snap)!);
    const damaged = withFlip(files, snap, second.start + 30, 0x40);

    const error = await rejectionOf(openStore(damaged));
    expectCode(error, 'ERR_STORE_CORRUPT');
    const lost = `it loses ${second.keys.length} entries of the damaged block(s) (keys "${second.keys[0]}" to "${second.keys.at(-1)}" in key order)`;
    expect(error.message).toContain(`no older snapshot generation restores it; repair keeps every intact block: ${lost}`);

    const report = await DurableKVStore.repair(dir, { fs: damaged });
    expect(report.repaired).toMatchObject({
      file: snap,
      salvaged: {
        entriesKept: 50 - second.keys.length,
        lost: { keys: second.keys.length, firstKey: second.keys[0], lastKey: second.keys.at(-1) },
        damagedCopy: `${snap}.damaged`,
      },
    });
    expect(report.freshSnapshotSeq).toBeDefined();
    expect(await damaged.readFile(`${dir}/${snap}.damaged`)).toEqual(flipped(files.get(snap)!, second.start + 30, 0x40));
    const repaired = await openStore(damaged);
    for (const key of second.keys) model.delete(key);
    expect(contentsOf(repaired)).toEqual(modelContents(model));
    await repaired.close();
  });
});

/** The entries blocks of an intact snapshot file: where each starts and ends, and its keys. */
function entriesBlocksOf(bytes: Uint8Array): Array<{ start: number; end: number; keys: string[] }> {
  const file = Buffer.from(bytes);
  const blocks: Array<{ start: number; end: number; keys: string[] }> = [];
  const format = entryFormatFor(file.readUInt32LE(8), Number(file.readBigUInt64LE(snapshotHeaderSeqOffset)));
  for (let at = snapshotHeaderBytes; file.readUInt32LE(at + 8) === 1; ) {
    const end = at + 12 + file.readUInt32LE(at + 4);
    const keys: string[] = [];
    visitEntries(file.subarray(at + 12, end), format, (key) => keys.push(key));
    blocks.push({ start: at, end, keys });
    at = end;
  }
  return blocks;
}

describe('corruption matrix: every byte of a snapshot, one generation', () => {
  it('each flip is refused at open and salvaged: exactly the reported keys are missing, unless written again after', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { snapshotGenerations: 1, snapshotBlockBytes: 512 });
    const model = new Map<string, string>();
    for (let i = 0; i < 21; i++) model.set(`key${String(i).padStart(2, '0')}`, `value ${i} `.repeat(5));
    await store.batch([...model].map(([key, value]) => ({ type: 'put' as const, key, value })));
    await store.snapshot();
    const writtenAgain = ['key03', 'key20'];
    for (const key of writtenAgain) {
      await store.put(key, 'again');
      model.set(key, 'again');
    }
    await store.close();
    const files = await filesOf(memory);
    const snap = newestSnapshot(files);
    const blocks = entriesBlocksOf(files.get(snap)!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const counts = { flips: 0, refused: 0, lostKeys: 0 };
    for (let offset = 0; offset < files.get(snap)!.byteLength; offset++) {
      const damaged = withFlip(files, snap, offset, 1 << (offset % 8));
      counts.flips++;
      expectCode(await rejectionOf(openStore(damaged)), 'ERR_STORE_CORRUPT');
      counts.refused++;
      const report = await DurableKVStore.repair(dir, { fs: damaged });
      const block = blocks.find(({ start, end }) => offset >= start && offset < end);
      const lostKeys = block?.keys ?? [];
      expect(report.repaired?.salvaged?.lost, `byte ${offset}`).toEqual({
        keys: lostKeys.length,
        firstKey: lostKeys[0],
        lastKey: lostKeys.at(-1),
      });
      const expected = new Map(model);
      for (const key of lostKeys) if (!writtenAgain.includes(key)) expected.delete(key);
      counts.lostKeys += model.size - expected.size;
      const repaired = await openStore(damaged);
      expect(contentsOf(repaired), `byte ${offset}`).toEqual(modelContents(expected));
      await repaired.close();
    }
    expect(counts.refused).toBe(counts.flips);
    expect(counts.lostKeys).toBeGreaterThan(0);
  });
});

describe('an unreadable newest snapshot (EIO on every read: a bad sector)', () => {
  it('fails the open with the EIO (a retry may read it); repair counts it as damage and restores from the older generation', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    const model = new Map<string, string>();
    await putMany(store, model, 30, 'first');
    await store.snapshot();
    await putMany(store, model, 30, 'second');
    await store.snapshot();
    await putMany(store, model, 2, 'third');
    await store.close();
    const files = await filesOf(memory);
    const snap = newestSnapshot(files);
    const badSector = new FaultyFileSystem({ inner: diskImage(files), seed: 1 }).failWithProbability('read', 1, 'EIO', {
      pathIncludes: snap,
    });

    expect(await rejectionOf(openStore(badSector))).toMatchObject({ code: 'EIO' });
    const report = await DurableKVStore.repair(dir, { fs: badSector });
    expect(report.repaired).toMatchObject({ snapshotsDeleted: [snap], droppedBytes: 0 });
    const repaired = await openStore(badSector);
    expect(contentsOf(repaired)).toEqual(modelContents(model));
    await repaired.close();
  });
});

describe('corruption matrix: every byte of a snapshot, two generations', () => {
  it('each flip is refused at open (every byte is checked) and repaired with every acknowledged write', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    const model = new Map<string, string>();
    await putMany(store, model, 6); // small: every byte is tried, three opens each
    await store.snapshot();
    await putMany(store, model, 2, 'after');
    await store.close();
    const files = await filesOf(memory);
    const snap = newestSnapshot(files);
    for (let offset = 0; offset < files.get(snap)!.byteLength; offset++) {
      const damaged = withFlip(files, snap, offset, 1 << (offset % 8));
      expectCode(await rejectionOf(openStore(damaged)), 'ERR_STORE_CORRUPT');
      await DurableKVStore.repair(dir, { fs: damaged });
      const repaired = await openStore(damaged);
      expect(contentsOf(repaired), `byte ${offset}`).toEqual(modelContents(model));
      await repaired.close();
    }
  });
});

/** A file system whose appends to snapshot temporaries land with one byte flipped: a lying disk. */
function corruptingSnapshotWrites(memory: MemoryFileSystem): FileSystem {
  return new Proxy(memory, {
    get(target, property, receiver) {
      if (property !== 'openAppend') {
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value; // its # fields need the real `this`
      }
      return async (filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> => {
        const handle = await target.openAppend(filePath, create);
        if (!filePath.endsWith('.snap.tmp')) return handle;
        let appends = 0;
        const append = async (data: Uint8Array) => {
          const copy = Uint8Array.from(data);
          // Appends are coalesced: the first holds the header (32 bytes) and then the first block of entries.
          if (++appends === 1 && copy.byteLength > 52) copy[52] ^= 0x10;
          await handle.append(copy);
        };
        return { append, sync: () => handle.sync(), close: () => handle.close() };
      };
    },
  });
}

describe('a snapshot is read back before anything depends on it', () => {
  it('one that does not read back is dropped: snapshot() rejects, the store keeps working, nothing is lost', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(corruptingSnapshotWrites(memory));
    const model = new Map<string, string>();
    await putMany(store, model, 20);
    expectCode(await rejectionOf(store.snapshot()), 'ERR_STORE_FAILED');
    expect(store.state).toBe('ready');
    expect((await memory.readdir(dir)).filter((name) => name.includes('.snap'))).toEqual([]);
    await putMany(store, model, 2, 'later');
    await store.close();
    const reopened = await openStore(memory);
    expect(contentsOf(reopened)).toEqual(modelContents(model));
    await reopened.close();
  });
});

describe('segments kept for an older generation', () => {
  it('hold their records only: the zeros preallocated past them are cut once a snapshot covers them', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    await putMany(store, new Map(), 5);
    await store.snapshot(); // rotates wal-1 at the barrier, preallocated zeros and all; it stays (the empty-store generation)
    await putMany(store, new Map(), 5, 'more');
    await store.snapshot();
    await store.close();
    const kept = (await memory.readdir(dir)).filter((name) => name.endsWith('.wal'));
    expect(kept.length).toBeGreaterThanOrEqual(2);
    for (const name of kept) {
      const bytes = Buffer.from(memory.fileBytes(`${dir}/${name}`)!);
      const firstSeq = parseWalSegmentName(name)!;
      expect(walkSegment(bytes, firstSeq - 1, () => {}).validBytes, name).toBe(bytes.byteLength);
    }
  });
});

describe('a restore is claimed only when it loses nothing', () => {
  it('is corruption, not a restore, when the WAL after the older generation stops short of the damaged snapshot', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { segmentBytesMax: 256 });
    await putMany(store, new Map(), 20, 'first');
    await store.snapshot();
    await putMany(store, new Map(), 20, 'second');
    await store.snapshot();
    await store.close();
    const files = await filesOf(memory);
    const snaps = [...files.keys()].filter((name) => name.endsWith('.snap')).sort();
    // A second fault: the segments after seq 32 are gone too, so the older generation reaches only 32 of 40.
    for (const name of [...files.keys()]) if (name.endsWith('.wal') && Number(/\d{20}/.exec(name)![0]) > 32) files.delete(name);
    const damaged = withFlip(files, snaps[1], 40, 0x01);
    const error = await rejectionOf(openStore(damaged));
    expectCode(error, 'ERR_STORE_CORRUPT');
    expect(error.message).toMatch(/reach only seq \d+ of its 40/);
    expectCode(await rejectionOf(DurableKVStore.repair(dir, { fs: damaged })), 'ERR_STORE_CORRUPT');
  });

  it('repair leaves covered segments to the next open: a store kept with more generations keeps their WAL', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { snapshotGenerations: 4 });
    for (let round = 0; round < 3; round++) {
      await putMany(store, new Map(), 5, `round${round}`);
      await store.snapshot();
    }
    await store.close();
    const before = (await memory.readdir(dir)).filter((name) => name.endsWith('.wal'));
    await DurableKVStore.repair(dir, { fs: memory });
    expect((await memory.readdir(dir)).filter((name) => name.endsWith('.wal'))).toEqual(before);
  });
});

describe('one repair for two faults: WAL damage and a damaged only snapshot', () => {
  it('cuts the WAL and salvages the snapshot in the same run, reporting both; the store then opens', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { autoSnapshot: false, snapshotGenerations: 1, segmentBytesMax: 200 });
    for (let i = 0; i < 30; i++) await store.put(`a${String(i).padStart(3, '0')}`, `v${i}`);
    await store.snapshot();
    for (let i = 0; i < 30; i++) await store.put(`b${String(i).padStart(3, '0')}`, `w${i}`);
    await store.close();
    const names = (await memory.readdir(dir)).filter((name) => name !== 'LOCK');
    const snap = names.find((name) => name.endsWith('.snap'))!;
    const segment = names.filter((name) => name.endsWith('.wal')).sort()[1];
    memory.corrupt(`${dir}/${snap}`, 32 + 40, 0x04);
    memory.corrupt(`${dir}/${segment}`, 40, 0x04);
    expectCode(await rejectionOf(openStore(memory)), 'ERR_STORE_CORRUPT');

    const report = await DurableKVStore.repair(dir, { fs: memory });
    expect(report.repaired).toMatchObject({ file: segment, salvaged: { damagedCopy: `${snap}.damaged` } });
    expect(report.repaired?.salvaged?.lost.keys).toBeGreaterThan(0);
    expect(report.freshSnapshotSeq).toBeDefined();
    const repaired = await openStore(memory);
    expect(repaired.size).toBeGreaterThan(0);
    await repaired.close();
  });
});
