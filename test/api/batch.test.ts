import { describe, expect, it } from 'vitest';
import { DurableKVStore, InvalidArgumentError, dumpWal, type BatchOperation, type OperationEvent } from '../../src/index.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';
import { walkSegment } from '../../src/format/wal-reader.js';

type Op = BatchOperation<string>;

const baseline: Op[] = [
  { type: 'put', key: 'keep', value: 'kept' },
  { type: 'put', key: 'doomed', value: 'still here' },
];

const theBatch: Op[] = [
  { type: 'put', key: 'b1', value: 'one' },
  { type: 'delete', key: 'doomed' },
  { type: 'put', key: 'b2', value: 'two' },
  { type: 'put', key: 'keep', value: 'changed' },
];

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** The store holds the baseline and none of `theBatch`. */
function expectBaselineOnly(store: DurableKVStore): void {
  expect(Object.fromEntries(store.entries())).toEqual({ keep: 'kept', doomed: 'still here' });
}

/** The store holds the baseline with all of `theBatch` applied. */
function expectBatchApplied(store: DurableKVStore): void {
  expect(Object.fromEntries(store.entries())).toEqual({ keep: 'changed', b1: 'one', b2: 'two' });
}

describe('a batch applies all of its operations', () => {
  it('makes every operation visible once it resolves, and after a restart', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.batch(baseline);
    await store.batch(theBatch);
    expectBatchApplied(store);
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expectBatchApplied(reopened);
  });

  it('applies operations on the same key in array order', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir));
    await store.batch([
      { type: 'put', key: 'x', value: 'first' },
      { type: 'put', key: 'x', value: 'second' },
      { type: 'put', key: 'y', value: 'there' },
      { type: 'delete', key: 'y' },
      { type: 'delete', key: 'z' },
      { type: 'put', key: 'z', value: 'back' },
    ]);
    expect(Object.fromEntries(store.entries())).toEqual({ x: 'second', z: 'back' });
  });

  it('accepts an empty batch without writing anything', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir));
    await store.put('a', '1');
    const events: OperationEvent[] = [];
    store.operations$.subscribe((event) => events.push(event));
    await expect(store.batch([])).resolves.toEqual({ ok: true, seq: store.stats().lastSeq });
    expect(store.stats().lastSeq).toBe(1);
    expect(events).toEqual([]);
  });
});

describe('a batch is one WAL record', () => {
  it('takes exactly one seq, reported once on operations$ with its operation count', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.batch(baseline);
    const before = store.stats().lastSeq;
    const events: OperationEvent[] = [];
    store.operations$.subscribe((event) => events.push(event));
    await store.batch(theBatch);
    expect(store.stats().lastSeq).toBe(before + 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'batch', count: theBatch.length, seq: before + 1 });
    await store.close();

    // In the log, every operation of the batch carries the batch's one seq.
    const lines = await collect(dumpWal(dir));
    const batchLines = lines.filter((line) => line.split('|')[1] === String(before + 1));
    expect(batchLines).toEqual(['PUT|2|b1|one', 'DELETE|2|doomed', 'PUT|2|b2|two', 'PUT|2|keep|changed']);
  });
});

describe('an invalid operation anywhere rejects the whole batch', () => {
  const invalid: Array<[string, unknown]> = [
    ['a number key', { type: 'put', key: 7, value: 'v' }],
    ['an undefined value', { type: 'put', key: 'k', value: undefined }],
    ['a non-string value', { type: 'put', key: 'k', value: 12 }],
    ['a lone-surrogate key', { type: 'delete', key: '\uD800' }],
    ['an unknown type', { type: 'upsert', key: 'k', value: 'v' }],
    ['null', null],
    ['a key over keyBytesMax', { type: 'put', key: 'k'.repeat(65), value: 'v' }],
    ['a value over valueBytesMax', { type: 'put', key: 'k', value: 'v'.repeat(129) }],
  ];
  const positions = ['first', 'middle', 'last'] as const;

  function withInvalidAt(position: (typeof positions)[number], bad: unknown): Op[] {
    const ops = [...theBatch];
    const at = position === 'first' ? 0 : position === 'middle' ? 2 : ops.length;
    ops.splice(at, 0, bad as Op);
    return ops;
  }

  it.each(invalid)('rejects %s with ERR_INVALID_ARG and applies none of it, at every position', async (_name, bad) => {
    const dir = await tempDir();
    const options = { keyBytesMax: 64, valueBytesMax: 128 };
    const store = await DurableKVStore.open(dir, options);
    await store.batch(baseline);
    for (const position of positions) {
      const rejection = store.batch(withInvalidAt(position, bad));
      await expect(rejection).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(rejection).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
      expectBaselineOnly(store);
      expect(store.stats().lastSeq).toBe(1);
    }
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir, options));
    expectBaselineOnly(reopened);
    expect(reopened.stats().lastSeq).toBe(1);
  });

  it('rejects a batch that is not an array, and one over batchOpsMax', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir, { batchOpsMax: 3 }));
    await store.batch(baseline);
    await expect(store.batch({ type: 'put', key: 'k', value: 'v' } as unknown as Op[])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(store.batch(theBatch)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    expectBaselineOnly(store);
    await expect(store.batch(theBatch.slice(0, 3))).resolves.toMatchObject({ ok: true });
  });
});

describe('a batch is atomic across a crash', () => {
  // The segment is preallocated, so the batch overwrites zeros that are already durable: a crash
  // before its fsync completes may keep any of its sectors (MemoryFileSystem draws them from its
  // seed). Over seeds both outcomes must occur, and never a part of the batch.
  const crashSeeds = Array.from({ length: 16 }, (_, seed) => seed);

  /** Reopens `memory` after a crash: the batch is all there (and then seq 2) or not at all. */
  async function allOrNone(memory: MemoryFileSystem): Promise<'all' | 'none'> {
    const reopened = closeAfterTest(await DurableKVStore.open('/db', { fs: memory }));
    const all = reopened.has('b1');
    if (all) expectBatchApplied(reopened);
    else expectBaselineOnly(reopened);
    expect(reopened.stats().lastSeq).toBe(all ? 2 : 1);
    return all ? 'all' : 'none';
  }

  it('is all or none after a crash while its fsync was still running', async () => {
    const outcomes = new Set<string>();
    for (const seed of crashSeeds) {
      const memory = new MemoryFileSystem({ seed });
      const gated = new GatedFileSystem(memory);
      const store = closeAfterTest(await DurableKVStore.open('/db', { fs: gated }));
      await store.batch(baseline);

      gated.holdSyncs('.wal');
      const pending = store.batch(theBatch);
      const settled = pending.then(
        () => 'acknowledged',
        () => 'rejected',
      );
      // Its fsync begins before it is settled either way (a race, so a broken engine fails fast).
      expect(await Promise.race([gated.heldSyncs(1).then(() => 'fsync began'), settled])).toBe('fsync began');
      // Written but not durable: a read must not see it yet.
      expectBaselineOnly(store);
      memory.crash();
      gated.releaseAll();
      await expect(pending).rejects.toMatchObject({ code: 'ERR_STORE_FAILED' });
      outcomes.add(await allOrNone(memory));
    }
    expect([...outcomes].sort()).toEqual(['all', 'none']);
  });

  it('is all or none after a crash when its fsync failed (never acknowledged)', async () => {
    const outcomes = new Set<string>();
    for (const seed of crashSeeds) {
      const memory = new MemoryFileSystem({ seed });
      const faulty = new FaultyFileSystem({ inner: memory, seed: 1 });
      const store = closeAfterTest(await DurableKVStore.open('/db', { fs: faulty }));
      await store.batch(baseline);

      faulty.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
      await expect(store.batch(theBatch)).rejects.toMatchObject({ code: 'ERR_STORE_FAILED' });
      expectBaselineOnly(store);
      faulty.crash();
      outcomes.add(await allOrNone(memory));
    }
    expect([...outcomes].sort()).toEqual(['all', 'none']);
  });

  it('is entirely present after a crash once acknowledged', async () => {
    const memory = new MemoryFileSystem();
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: memory }));
    await store.batch(baseline);
    await store.batch(theBatch);
    memory.crash();

    const reopened = closeAfterTest(await DurableKVStore.open('/db', { fs: memory }));
    expectBatchApplied(reopened);
  });

  it('is entirely absent when only part of its record reached the disk, at every cut point', async () => {
    const memory = new MemoryFileSystem();
    const store = await DurableKVStore.open('/db', { fs: memory });
    await store.batch(baseline);
    const segment = '/db/wal-00000000000000000001.wal';
    // Where the records end: zeros preallocated under sync 'always' follow.
    const before = walkSegment(Buffer.from(memory.fileBytes(segment)!), 0, () => {}).validBytes;
    await store.batch(theBatch);
    await store.close();
    const full = memory.fileBytes(segment)!;
    // The batch's record ends where the sync markers the close left begin.
    const after = walkSegment(Buffer.from(full), 0, () => {}).recordsEndBytes;
    expect(after).toBeGreaterThan(before);

    for (let cut = before; cut < after; cut++) {
      const disk = new MemoryFileSystem();
      disk.writeFileDurable(segment, full.subarray(0, cut));
      const reopened = await DurableKVStore.open('/db', { fs: disk });
      expectBaselineOnly(reopened);
      if (cut > before) expect(reopened.recoveryReport.tornTail).toMatchObject({ offset: before, droppedBytes: cut - before });
      await reopened.close();
    }
  });
});
