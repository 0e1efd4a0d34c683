/**
 * Damaged files on disk: a torn tail (damage with nothing valid after it) is cut off and the store
 * opens with every earlier record; anything else is ERR_STORE_CORRUPT naming the file and offset.
 * Never a wrong value, never a raw untyped error.
 */
import { describe, expect, it } from 'vitest';
import { readdir, readFile, truncate as truncateFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DurableKVStore, type DamageReport, type StoreOptions } from '../../src/index.js';
import { MemoryFileSystem, Prng } from '../../src/testing/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { closeMarkersBytes, markerOffsets, recordOffsets, recordsEnd } from '../helpers/wal-segments.js';
import { walSyncMarkerBytes } from '../../src/format/wal-format.js';
import {
  contentsOf,
  diskImage as image,
  dir,
  expectCode,
  modelContents,
  openStore,
  rejectionOf,
  storeErrorCodes,
  storeFiles as filesOf,
  type CodedError,
} from './helpers.js';

interface Outcome {
  contents?: Record<string, string>;
  tornTail?: DamageReport;
  tornTailEvents: DamageReport[];
  error?: CodedError;
}

/** Opens the store on `memory`; every failure must be a typed durable-kv error. */
async function openOutcome(memory: MemoryFileSystem): Promise<Outcome> {
  const tornTailEvents: DamageReport[] = [];
  try {
    const store = await openStore(memory, { listeners: { 'torn-tail': (damage) => tornTailEvents.push(damage) } });
    const outcome = { contents: contentsOf(store), tornTail: store.recoveryReport.tornTail, tornTailEvents };
    await store.close();
    return outcome;
  } catch (error) {
    const coded = error as CodedError;
    expect(storeErrorCodes, `untyped error from open: ${coded.stack}`).toContain(coded.code);
    return { error: coded, tornTailEvents };
  }
}

/**
 * A store with one WAL segment of puts, overwrites, a batch and deletes. `states[i]` is the contents
 * after the first i records.
 */
async function walFixture() {
  const memory = new MemoryFileSystem();
  const store = await openStore(memory);
  const model = new Map<string, string>();
  const states = [modelContents(model)];
  const record = () => states.push(modelContents(model));
  for (let i = 0; i < 24; i++) {
    const key = `key${i % 9}`;
    const value = `value ${i} `.repeat(1 + (i % 4));
    if (i % 7 === 6) {
      await store.delete(key);
      model.delete(key);
    } else if (i % 5 === 4) {
      await store.batch([
        { type: 'put', key, value },
        { type: 'put', key: `batch${i}`, value },
        { type: 'delete', key: 'key0' },
      ]);
      model.set(key, value).set(`batch${i}`, value).delete('key0');
    } else {
      await store.put(key, value);
      model.set(key, value);
    }
    record();
  }
  await store.put('last', 'the last record');
  model.set('last', 'the last record');
  record();
  await store.close();
  const files = await filesOf(memory);
  const segmentName = [...files.keys()].find((name) => name.endsWith('.wal'))!;
  const segment = files.get(segmentName)!;
  return { files, segmentName, segment, offsets: recordOffsets(segment), states };
}

describe('WAL: a torn tail is cut off and every earlier record is kept', () => {
  it('recovers from truncation at every byte offset of the last record', async () => {
    const { files, segmentName, segment, offsets, states } = await walFixture();
    const lastStart = offsets.at(-1)!;
    const withoutLast = states.at(-2);
    for (let length = lastStart; length < recordsEnd(segment); length++) {
      const memory = image(files, segmentName, segment.slice(0, length));
      const outcome = await openOutcome(memory);
      expect(outcome.error, `truncated to ${length}`).toBeUndefined();
      expect(outcome.contents, `truncated to ${length}`).toEqual(withoutLast);
      if (length === lastStart) {
        expect(outcome.tornTail).toBeUndefined();
        continue;
      }
      const expected = { file: segmentName, offset: lastStart, droppedBytes: length - lastStart };
      expect(outcome.tornTail, `truncated to ${length}`).toMatchObject(expected);
      expect(outcome.tornTailEvents).toEqual([outcome.tornTail]);
      // Cut off on disk, then the close left a sync marker proving the records before the cut.
      expect(memory.fileBytes(`${dir}/${segmentName}`)!.byteLength, 'the tail is cut off on disk').toBe(
        lastStart + closeMarkersBytes(lastStart),
      );
    }
  });

  it('reads a zero-filled tail of any length as the clean end (preallocated space), reporting nothing', async () => {
    const { files, segmentName, segment, states } = await walFixture();
    for (const zeros of [1, 7, 16, 17, 100, 4096]) {
      const padded = new Uint8Array(segment.byteLength + zeros);
      padded.set(segment);
      const outcome = await openOutcome(image(files, segmentName, padded));
      expect(outcome.error, `${zeros} zero bytes`).toBeUndefined();
      expect(outcome.contents).toEqual(states.at(-1));
      expect(outcome.tornTail).toBeUndefined();
      expect(outcome.tornTailEvents).toEqual([]);
    }
  });

  it('keeps working after cutting a torn tail: new writes land after the cut and survive', async () => {
    const { files, segmentName, segment, offsets, states } = await walFixture();
    const memory = image(files, segmentName, segment.slice(0, offsets.at(-1)! + 5));
    const store = await openStore(memory);
    await store.put('after', 'the cut');
    await store.close();
    const outcome = await openOutcome(memory);
    expect(outcome.tornTail).toBeUndefined();
    expect(outcome.contents).toEqual({ ...states.at(-2), after: 'the cut' });
  });
});

describe('WAL after a clean close: a flipped bit before its sync marker is ERR_STORE_CORRUPT, in the marker a harmless torn tail', () => {
  it('classifies flips at seeded random offsets across the whole segment', async () => {
    const { files, segmentName, segment, offsets, states } = await walFixture();
    const prng = new Prng(0xc0ffee);
    const [markerStart] = markerOffsets(segment);
    expect(markerStart, 'the close leaves its sync markers after the last record').toBe(recordsEnd(segment));
    expect(markerStart + closeMarkersBytes(markerStart)).toBe(segment.byteLength);
    let torn = 0;
    let corrupt = 0;
    for (let trial = 0; trial < 300; trial++) {
      // Half the trials aim at the records, half at the last record or the markers: both outcomes are well covered.
      const lastStart = offsets.at(-1)!;
      const offset = trial % 2 === 0 ? prng.int(markerStart) : lastStart + prng.int(segment.byteLength - lastStart);
      const mask = 1 + prng.int(255);
      const damaged = segment.slice();
      damaged[offset] ^= mask;
      const outcome = await openOutcome(image(files, segmentName, damaged));
      const where = `byte ${offset} ^ ${mask} (seed 0xc0ffee, trial ${trial})`;
      if (offset >= markerStart) {
        // Only the proof is damaged: every record is there, and the markers are cut as a torn tail.
        torn++;
        expect(outcome.error, where).toBeUndefined();
        expect(outcome.contents, where).toEqual(states.at(-1));
        // A flip in the padded marker cuts from it; one in the aligned marker after it, from there.
        const alignedStart = segment.byteLength - walSyncMarkerBytes;
        expect(outcome.tornTail, where).toMatchObject({ file: segmentName, offset: offset < alignedStart ? markerStart : alignedStart });
      } else {
        corrupt++;
        expect(outcome.error, where).toBeDefined();
        expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
        expect(outcome.error!.file, where).toBe(segmentName);
        // The header, or the start of the record the flipped byte belongs to.
        const recordStart = offset < 16 ? 0 : offsets.filter((start) => start <= offset).at(-1);
        expect(outcome.error!.offset, where).toBe(recordStart);
      }
    }
    expect(torn).toBeGreaterThan(10);
    expect(corrupt).toBeGreaterThan(100);
  });

  it('is corruption, not a torn tail, in the last record of a segment that later segments follow', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { segmentBytesMax: 256 });
    for (let i = 0; i < 20; i++) await store.put(`k${i}`, `value ${i}`);
    await store.close();
    const files = await filesOf(memory);
    const [first] = [...files.keys()].filter((name) => name.endsWith('.wal'));
    const segment = files.get(first)!;
    const lastStart = recordOffsets(segment).at(-1)!;
    const end = recordsEnd(segment);
    expect(end, 'rotation leaves the preallocated zeros after the last record').toBeLessThan(segment.byteLength);
    for (const offset of [lastStart, lastStart + 9, end - 1]) {
      const damaged = segment.slice();
      damaged[offset] ^= 0x10;
      const outcome = await openOutcome(image(files, first, damaged));
      expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
      expect(outcome.error).toMatchObject({ file: first, offset: lastStart });
    }
    // A stray byte in its zero tail is damage too: not all zeros, so not a clean end.
    const strayZero = segment.slice();
    strayZero[segment.byteLength - 1] ^= 0x10;
    const stray = await openOutcome(image(files, first, strayZero));
    expectCode(stray.error!, 'ERR_STORE_CORRUPT');
    expect(stray.error).toMatchObject({ file: first, offset: end });
    // Cutting the older segment short is the same: records after the cut were acknowledged.
    const outcome = await openOutcome(image(files, first, segment.slice(0, lastStart + 3)));
    expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
    expect(outcome.error).toMatchObject({ file: first, offset: lastStart });
  });
});

/** A store whose state lives in a snapshot, plus a WAL segment after it. */
async function snapshotFixture(options: StoreOptions = {}) {
  const memory = new MemoryFileSystem();
  const store = await openStore(memory, options);
  for (let i = 0; i < 30; i++) await store.put(`k${i}`, `snapshot value ${i}`);
  const result = await store.snapshot();
  await store.put('after', 'the snapshot');
  await store.close();
  const files = await filesOf(memory);
  const snapName = [...files.keys()].find((name) => name.endsWith('.snap'))!;
  return { memory, files, snapName, snap: files.get(snapName)!, seq: result.seq };
}

describe('snapshot: any damage is ERR_STORE_CORRUPT naming the .snap', () => {
  it('rejects a bit flip at every byte offset', async () => {
    const { files, snapName, snap } = await snapshotFixture();
    expect((await openOutcome(image(files))).contents).toHaveProperty('k29', 'snapshot value 29');
    const prng = new Prng(0x5a17);
    for (let offset = 0; offset < snap.byteLength; offset++) {
      const mask = 1 + prng.int(255);
      const damaged = snap.slice();
      damaged[offset] ^= mask;
      const outcome = await openOutcome(image(files, snapName, damaged));
      const where = `byte ${offset} ^ ${mask} of ${snap.byteLength}`;
      expect(outcome.error, where).toBeDefined();
      expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
      expect(outcome.error!.file, where).toBe(snapName);
      expect(outcome.error!.offset, where).toBeLessThanOrEqual(offset);
    }
  });

  it('rejects a snapshot cut short or with bytes appended', async () => {
    const { files, snapName, snap } = await snapshotFixture();
    const variants = [0, 1, 31, 32, 33, snap.byteLength - 1].map((length) => snap.slice(0, length));
    variants.push(Buffer.concat([snap, new Uint8Array(1)]), Buffer.concat([snap, new Uint8Array(64)]));
    for (const damaged of variants) {
      const outcome = await openOutcome(image(files, snapName, damaged));
      expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
      expect(outcome.error!.file, `${damaged.byteLength} bytes`).toBe(snapName);
    }
  });

  it('refuses to open when the newest snapshot is missing and its WAL was compacted (records missing)', async () => {
    const { files, snapName } = await snapshotFixture({ snapshotGenerations: 1 });
    const withoutSnapshot = new Map(files);
    withoutSnapshot.delete(snapName);
    const outcome = await openOutcome(image(withoutSnapshot));
    expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
    expect(outcome.error!.message).toMatch(/missing/);
    expect(outcome.error!.file).toMatch(/\.wal$/);
  });

  it('refuses to fall back to an older snapshot when the WAL after it was compacted', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { snapshotGenerations: 1 });
    for (let i = 0; i < 10; i++) await store.put(`k${i}`, `first ${i}`);
    await store.snapshot();
    const older = await filesOf(memory);
    for (let i = 0; i < 10; i++) await store.put(`k${i}`, `second ${i}`);
    await store.snapshot();
    await store.close();
    const files = await filesOf(memory);
    const [olderName] = [...older.keys()].filter((name) => name.endsWith('.snap'));
    const [newestName] = [...files.keys()].filter((name) => name.endsWith('.snap'));
    // The newest snapshot lost, the older one (deleted by the second snapshot) somehow back.
    const damaged = new Map(files);
    damaged.delete(newestName);
    damaged.set(olderName, older.get(olderName)!);
    const outcome = await openOutcome(image(damaged));
    expectCode(outcome.error!, 'ERR_STORE_CORRUPT');
    expect(outcome.error!.message).toMatch(/missing/);
    // Damaged instead of missing: the error names the newest snapshot, the older one is not used.
    const flipped = files.get(newestName)!.slice();
    flipped[40] ^= 1;
    damaged.set(newestName, flipped);
    const corrupt = await openOutcome(image(damaged));
    expectCode(corrupt.error!, 'ERR_STORE_CORRUPT');
    expect(corrupt.error!.file).toBe(newestName);
  });
});

describe('unknown files', () => {
  it('are left alone and reported in recoveryReport.unknownFiles', async () => {
    const { files } = await snapshotFixture();
    const extra = new Map(files);
    const unknown = ['README.txt', 'wal-1.wal', 'snap-xyz.snap', 'wal-00000000000000000001.wal.bak'];
    for (const name of unknown) extra.set(name, Buffer.from(`not durable-kv's: ${name}`));
    const memory = image(extra);
    const store = await openStore(memory);
    expect([...store.recoveryReport.unknownFiles].sort()).toEqual([...unknown].sort());
    expect(store.get('k7')).toBe('snapshot value 7');
    expect(store.get('after')).toBe('the snapshot');
    await store.snapshot();
    await store.close();
    for (const name of unknown) expect(Buffer.from(memory.fileBytes(`${dir}/${name}`)!), name).toEqual(extra.get(name));
  });
});

describe('on the real file system', () => {
  it('cuts a torn tail and reports a flipped bit in an earlier record as ERR_STORE_CORRUPT', async () => {
    const realDir = await tempDir('durable-kv-corruption-');
    const real = await DurableKVStore.open(realDir, { autoSnapshot: false });
    for (let i = 0; i < 5; i++) await real.put(`k${i}`, `v${i}`);
    await real.close();
    const [segmentName] = (await readdir(realDir)).filter((name) => name.endsWith('.wal'));
    const segmentPath = path.join(realDir, segmentName);
    const original = await readFile(segmentPath);
    const offsets = recordOffsets(original);

    // A crash during the last write: its record cut short (and no close, so no sync marker after it).
    await truncateFile(segmentPath, recordsEnd(original) - 3);
    const torn = await DurableKVStore.open(realDir, { autoSnapshot: false });
    expect(torn.recoveryReport.tornTail).toMatchObject({ file: segmentName, offset: offsets.at(-1) });
    expect(contentsOf(torn)).toEqual({ k0: 'v0', k1: 'v1', k2: 'v2', k3: 'v3' });
    await torn.close();

    const flipped = Buffer.from(original);
    flipped[offsets[1] + 20] ^= 0x04;
    await writeFile(segmentPath, flipped);
    const error = await rejectionOf(DurableKVStore.open(realDir, { autoSnapshot: false }));
    expectCode(error, 'ERR_STORE_CORRUPT');
    expect(error).toMatchObject({ file: segmentName, offset: offsets[1] });
  });
});
