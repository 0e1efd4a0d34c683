import { appendFile, readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore, StoreCorruptError, dumpWal, type DamageReport, type StoreOptions } from '../../src/index.js';
import { Prng } from '../../src/testing/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { closeMarkersBytes, recordOffsets, recordsEnd } from '../helpers/wal-segments.js';

/** Opens a store in `dir`, puts k1..kN (values v1..vN) one by one, closes it; returns the WAL segment names. */
async function writeRecords(dir: string, count: number, options: StoreOptions = {}): Promise<string[]> {
  const store = await DurableKVStore.open(dir, options);
  for (let i = 1; i <= count; i++) await store.put(`k${i}`, `v${i}`);
  await store.close();
  return walSegments(dir);
}

async function walSegments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
}

function expectKeys(store: DurableKVStore, from: number, to: number): void {
  const expected = Object.fromEntries(Array.from({ length: to - from + 1 }, (_, i) => [`k${from + i}`, `v${from + i}`]));
  expect(Object.fromEntries(store.entries())).toEqual(expected);
}

async function openError(dir: string): Promise<StoreCorruptError> {
  try {
    const store = await DurableKVStore.open(dir);
    await store.close();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect(error).toMatchObject({ code: 'ERR_STORE_CORRUPT' });
    return error as StoreCorruptError;
  }
  throw new Error('expected the open to fail');
}

async function openHearingTornTail(dir: string): Promise<{ store: DurableKVStore; heard: DamageReport[] }> {
  const heard: DamageReport[] = [];
  const store = closeAfterTest(await DurableKVStore.open(dir, { listeners: { 'torn-tail': (damage) => heard.push(damage) } }));
  return { store, heard };
}

describe('a torn tail is cut off and reported', () => {
  it('drops garbage appended after the last record', async () => {
    const dir = await tempDir();
    const [segment] = await writeRecords(dir, 5);
    const file = path.join(dir, segment);
    const size = (await stat(file)).size;
    const prng = new Prng(11);
    await appendFile(
      file,
      Uint8Array.from({ length: 37 }, () => prng.int(256)),
    );

    const { store, heard } = await openHearingTornTail(dir);
    expectKeys(store, 1, 5);
    const expected = { file: segment, offset: size, droppedBytes: 37, reason: expect.any(String) };
    expect(store.recoveryReport.tornTail).toEqual(expected);
    expect(heard).toEqual([expected]);
    expect((await stat(file)).size).toBe(size);
    // The store goes on from where the log really ends.
    await store.put('k6', 'v6');
    expect(store.stats().lastSeq).toBe(6);
  });

  it('drops the last record when it is cut short, at every byte offset', async () => {
    const dir = await tempDir();
    const [segment] = await writeRecords(dir, 5);
    const file = path.join(dir, segment);
    const full = await readFile(file);
    const last = recordOffsets(full).at(-1)!;

    for (let cut = last + 1; cut < recordsEnd(full); cut++) {
      await writeFile(file, full.subarray(0, cut));
      const heard: DamageReport[] = [];
      const store = await DurableKVStore.open(dir, { listeners: { 'torn-tail': (damage) => heard.push(damage) } });
      expectKeys(store, 1, 4);
      expect(store.recoveryReport.tornTail).toMatchObject({ file: segment, offset: last, droppedBytes: cut - last });
      expect(heard).toHaveLength(1);
      await store.close();
      // The records before the cut, then the sync markers this close left to prove them durable.
      expect((await stat(file)).size).toBe(last + closeMarkersBytes(last));
    }
  });

  it('drops a partly written next record', async () => {
    const dir = await tempDir();
    const [segment] = await writeRecords(dir, 6);
    const file = path.join(dir, segment);
    const full = await readFile(file);
    const sixth = recordOffsets(full).at(-1)!;
    // Keep records 1..5 and a prefix of the sixth: what a crash mid-write of record 6 leaves.
    await writeFile(file, full.subarray(0, sixth + 20));

    const { store, heard } = await openHearingTornTail(dir);
    expectKeys(store, 1, 5);
    expect(heard).toEqual([{ file: segment, offset: sixth, droppedBytes: 20, reason: expect.any(String) }]);
  });

  it('reads a zero-filled tail as the clean end of the log (preallocated space): every record, none invented, no torn tail', async () => {
    const dir = await tempDir();
    const [segment] = await writeRecords(dir, 5);
    const file = path.join(dir, segment);
    const size = (await stat(file)).size;
    await appendFile(file, new Uint8Array(4096));

    const { store, heard } = await openHearingTornTail(dir);
    expectKeys(store, 1, 5);
    expect(store.stats().lastSeq).toBe(5);
    expect(store.recoveryReport.recordsReplayed).toBe(5);
    expect(store.recoveryReport.tornTail).toBeUndefined();
    expect(heard).toEqual([]);
    // The store appends right after the last record, not after the zeros.
    await store.put('k6', 'v6');
    await store.close();
    expect(recordOffsets(await readFile(file)).at(-1)).toBe(size);
  });
});

describe('damage with valid records after it is corruption', () => {
  // Offsets inside a record: 0 crc, 4 length, 8 seq, 16 durableBytes, 20 payload.
  const fields: Array<[string, number, number]> = [
    ['payload', 20 + 7, 0x01],
    ['durableBytes field', 16, 0x01],
    ['length field', 4, 0x02],
    ['length field (high byte)', 7, 0x80],
    ['seq field', 8, 0x01],
    ['checksum', 1, 0x10],
  ];

  it.each(fields)('refuses to open when the %s of an early record is flipped, and repair cuts there', async (_field, within, mask) => {
    const dir = await tempDir();
    const [segment] = await writeRecords(dir, 6);
    const file = path.join(dir, segment);
    const bytes = await readFile(file);
    const second = recordOffsets(bytes)[1];
    bytes[second + within] ^= mask;
    await writeFile(file, bytes);

    const error = await openError(dir);
    expect(error.file).toBe(segment);
    expect(error.offset).toBe(second);
    // Refused, and nothing was changed on disk.
    expect(await readFile(file)).toEqual(bytes);

    const report = await DurableKVStore.repair(dir);
    expect(report.repaired).toMatchObject({ file: segment, offset: second, droppedBytes: bytes.byteLength - second, segmentsDeleted: [] });
    expect(report.tornTail).toBeUndefined();
    expect(report.lastSeq).toBe(1);
    expect(report.recordsKept).toBe(1);
    expect((await stat(file)).size).toBe(second);

    const store = closeAfterTest(await DurableKVStore.open(dir));
    expectKeys(store, 1, 1);
    expect(store.recoveryReport.tornTail).toBeUndefined();
  });

  it('refuses to open when a non-last segment is damaged, even at its end', async () => {
    const dir = await tempDir();
    const options = { segmentBytesMax: 100, autoSnapshot: false } as const;
    const segments = await writeRecords(dir, 12, options);
    expect(segments.length).toBeGreaterThanOrEqual(3);
    const first = path.join(dir, segments[0]);
    const bytes = await readFile(first);
    const lastOfFirst = recordOffsets(bytes).at(-1)!;
    bytes[lastOfFirst + 18] ^= 0x04;
    await writeFile(first, bytes);

    const error = await openError(dir);
    expect(error.file).toBe(segments[0]);
    expect(error.offset).toBe(lastOfFirst);

    const report = await DurableKVStore.repair(dir);
    expect(report.repaired?.file).toBe(segments[0]);
    expect(report.repaired?.offset).toBe(lastOfFirst);
    expect(report.repaired?.segmentsDeleted).toEqual(segments.slice(1));
    expect(await walSegments(dir)).toEqual(segments.slice(0, 1));
    const store = closeAfterTest(await DurableKVStore.open(dir, options));
    expectKeys(store, 1, recordOffsets(bytes).length - 1);
  });

  it('refuses to open when a non-last segment is cut short', async () => {
    const dir = await tempDir();
    const segments = await writeRecords(dir, 12, { segmentBytesMax: 100, autoSnapshot: false });
    const first = path.join(dir, segments[0]);
    // Into its last record: cutting only the zeros preallocated after it would lose nothing.
    await truncate(first, recordsEnd(await readFile(first)) - 3);
    const error = await openError(dir);
    expect(error.file).toBe(segments[0]);
  });

  it('refuses to open when a middle segment is missing (a gap in the seqs)', async () => {
    const dir = await tempDir();
    const segments = await writeRecords(dir, 12, { segmentBytesMax: 100, autoSnapshot: false });
    expect(segments.length).toBeGreaterThanOrEqual(3);
    await unlink(path.join(dir, segments[1]));
    const error = await openError(dir);
    expect(error.file).toBe(segments[2]);
    expect(error.offset).toBe(0);
  });

  it('refuses to open when the first segment is missing and no snapshot covers it', async () => {
    const dir = await tempDir();
    const segments = await writeRecords(dir, 12, { segmentBytesMax: 100, autoSnapshot: false });
    await unlink(path.join(dir, segments[0]));
    const error = await openError(dir);
    expect(error.file).toBe(segments[1]);
  });
});

describe('snapshot damage', () => {
  async function storeWithSnapshot(dir: string): Promise<string> {
    const store = await DurableKVStore.open(dir);
    for (let i = 1; i <= 5; i++) await store.put(`k${i}`, `v${i}`);
    await store.snapshot();
    await store.put('k6', 'v6');
    await store.close();
    const snap = (await readdir(dir)).find((name) => name.endsWith('.snap'))!;
    expect(snap).toBe('snap-00000000000000000005.snap');
    return snap;
  }

  it('refuses to open, naming the .snap file, when the snapshot is corrupt and no WAL can replace it', async () => {
    const dir = await tempDir();
    const snap = await storeWithSnapshot(dir);
    const file = path.join(dir, snap);
    const bytes = await readFile(file);
    bytes[32 + 12 + 6] ^= 0x01; // inside the first block's entries; the block starts after the 32-byte header
    await writeFile(file, bytes);

    const error = await openError(dir);
    expect(error.file).toBe(snap);
    expect(error.offset).toBe(32);
    expect(error.message).toContain(snap);
  });

  it('names offset 0 when the snapshot header is damaged', async () => {
    const dir = await tempDir();
    const snap = await storeWithSnapshot(dir);
    const file = path.join(dir, snap);
    const bytes = await readFile(file);
    bytes[17] ^= 0x01; // the header's seq
    await writeFile(file, bytes);
    const error = await openError(dir);
    expect(error).toMatchObject({ file: snap, offset: 0 });
  });
});

describe('files in the directory', () => {
  it('removes a leftover snapshot temporary at open', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 3);
    const leftover = 'snap-00000000000000000003.snap.tmp';
    await writeFile(path.join(dir, leftover), 'half a snapshot');

    const store = closeAfterTest(await DurableKVStore.open(dir));
    expect(await readdir(dir)).not.toContain(leftover);
    expect(store.recoveryReport.removedFiles).toContain(leftover);
    expectKeys(store, 1, 3);
  });

  it('leaves unknown files alone and lists them', async () => {
    const dir = await tempDir();
    await writeRecords(dir, 3);
    const unknown = ['notes.txt', 'wal-1.wal', 'snap-abc.snap'];
    for (const name of unknown) await writeFile(path.join(dir, name), `not mine: ${name}`);

    const store = closeAfterTest(await DurableKVStore.open(dir));
    expect([...store.recoveryReport.unknownFiles].sort()).toEqual([...unknown].sort());
    for (const name of unknown) expect(await readFile(path.join(dir, name), 'utf8')).toBe(`not mine: ${name}`);
    expectKeys(store, 1, 3);
  });
});

describe('dumpWal', () => {
  it('prints one escaped line per operation, the operations of a batch sharing its seq', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.put('plain', 'value');
    await store.put('pipe|key', 'line\nbreak');
    await store.put('back\\slash', 'tab\there\r\n');
    await store.delete('pipe|key');
    await store.batch([
      { type: 'put', key: 'PUT|1|x', value: '|' },
      { type: 'delete', key: 'plain' },
    ]);
    await store.put('ctl', '\u0001\u007f');
    await store.close();

    const lines: string[] = [];
    for await (const line of dumpWal(dir)) lines.push(line);
    expect(lines).toEqual([
      'PUT|1|plain|value',
      'PUT|2|pipe\\|key|line\\nbreak',
      'PUT|3|back\\\\slash|tab\\there\\r\\n',
      'DELETE|4|pipe\\|key',
      'PUT|5|PUT\\|1\\|x|\\|',
      'DELETE|5|plain',
      'PUT|6|ctl|\\x01\\x7f',
    ]);
    // Splitting on unescaped `|` gives back the fields.
    for (const line of lines) expect(line.split(/(?<!\\)\|/).length).toBe(line.startsWith('PUT') ? 4 : 3);
  });
});
