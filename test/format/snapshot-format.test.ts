import { describe, expect, it } from 'vitest';
import type { StoredEntry, StoredValue } from '../../src/types.js';
import { StoreCorruptError } from '../../src/index.js';
import {
  blockHeaderBytes,
  blockKindEntries,
  encodeEndBlock,
  encodeIndexBlock,
  encodeSnapshotFile,
  encodeSnapshotHeader,
  sealBlock,
  SnapshotEncoder,
  snapshotFormatVersion,
  snapshotFormatVersionUnversioned,
  snapshotHeaderBytes,
} from '../../src/format/snapshot-format.js';
import { readSnapshot, readSnapshotEntries, type SnapshotReadResult } from '../../src/format/snapshot-reader.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { entry } from '../helpers/entries.js';

type Entry = readonly [string, StoredValue];

const blocks: Entry[][] = [
  [
    ['a', '1'],
    ['', 'empty key'],
    ['🎉|\n', 'emoji'],
  ],
  [['binary', Uint8Array.of(0, 1, 2, 255)]],
  [
    ['long', 'z'.repeat(700)],
    ['empty value', ''],
  ],
];

/** A snapshot file of `blocks` at `seq`, and where each part (header, blocks, index, end block) starts. */
function snapshotFile(seq: number, entryBlocks: Entry[][] = blocks): { bytes: Buffer; starts: number[] } {
  return encodeSnapshotFile(seq, entryBlocks);
}

/** A version-1 file (no index, a 16-byte end block; entries without version and expiry, as in version 2) of the same entries blocks. */
function versionOneFile(seq: number, entryBlocks: Entry[][] = blocks): Buffer {
  const { bytes, starts } = encodeSnapshotFile(seq, entryBlocks, snapshotFormatVersionUnversioned);
  const total = entryBlocks.reduce((sum, block) => sum + block.length, 0);
  const entriesEnd = starts[entryBlocks.length + 1];
  const entries = bytes.subarray(snapshotHeaderBytes, entriesEnd);
  return Buffer.concat([encodeSnapshotHeader(seq, 1), entries, encodeEndBlock({ totalEntries: total, seq })]);
}

/** Reads `bytes` as a snapshot file; `entries` holds what was delivered, also when reading throws. */
async function read(
  bytes: Uint8Array,
  entries: Array<[string, Buffer]> = [],
): Promise<{ result: SnapshotReadResult; entries: Array<[string, Buffer]> }> {
  const fs = new MemoryFileSystem();
  fs.writeFileDurable('/db/snap', bytes);
  const handle = await fs.openRead('/db/snap');
  try {
    const result = await readSnapshot(handle, 'snap-test.snap', (key, value) => entries.push([key, Buffer.from(value)]));
    return { result, entries };
  } finally {
    await handle.close();
  }
}

async function corruption(bytes: Uint8Array, delivered: Array<[string, Buffer]> = []): Promise<StoreCorruptError> {
  try {
    await read(bytes, delivered);
  } catch (error) {
    expect(error).toBeInstanceOf(StoreCorruptError);
    return error as StoreCorruptError;
  }
  throw new Error('expected StoreCorruptError');
}

/** Reads `bytes` as a snapshot file: each entry as [key, value as latin1, version, expiresAt]. */
async function readVersioned(bytes: Uint8Array): Promise<Array<[string, string, number, number]>> {
  const fs = new MemoryFileSystem();
  fs.writeFileDurable('/db/snap', bytes);
  const handle = await fs.openRead('/db/snap');
  const entries: Array<[string, string, number, number]> = [];
  try {
    await readSnapshotEntries(handle, 'snap-test.snap', (key, payload, start, end, version, expiresAt) =>
      entries.push([key, payload.toString('latin1', start, end), version, expiresAt]),
    );
    return entries;
  } finally {
    await handle.close();
  }
}

const asBuffer = (value: StoredValue) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value));

describe('snapshot round-trip', () => {
  it('reads back every entry, in order, with the seq, count and size', async () => {
    const { bytes } = snapshotFile(12345);
    const { result, entries } = await read(bytes);
    expect(result).toEqual({ seq: 12345, entries: 6, bytes: bytes.byteLength });
    expect(entries).toEqual(blocks.flat().map(([key, value]) => [key, asBuffer(value)]));
  });

  it('encodes entries into blocks of the given size as the snapshot actor does, one sealed block at a time', async () => {
    const entries: Array<[string, string]> = Array.from({ length: 500 }, (_, i) => [`key ${i}`, 'v'.repeat(i % 97)]);
    entries.push(['large', 'L'.repeat(5000)], ['after large', 'x']);
    const encoder = new SnapshotEncoder(8, 1024);
    const parts = [encoder.header()];
    for (const [key, value] of entries) {
      const sealed = encoder.add(key, entry(value));
      if (sealed !== undefined) parts.push(Buffer.from(sealed)); // written out before the next add
    }
    parts.push(...encoder.finish());
    const { result, entries: decoded } = await read(Buffer.concat(parts));
    expect(result.entries).toBe(entries.length);
    expect(decoded.map(([key, value]) => [key, value.toString()])).toEqual(entries);
    const entriesBlocks = parts.length - 3; // header, index, end
    expect(entriesBlocks).toBeGreaterThan(25);
  });

  it('keeps blocks within their size after an entry larger than a block (it takes a block of its own)', () => {
    const encoder = new SnapshotEncoder(3, 512);
    const blocks: Buffer[] = [encoder.header()];
    const add = (key: string, value: string) => {
      const sealed = encoder.add(key, entry(value));
      if (sealed !== undefined) blocks.push(Buffer.from(sealed));
    };
    add('big', 'B'.repeat(2000));
    for (let i = 0; i < 100; i++) add(`k${String(i).padStart(3, '0')}`, 'small value');
    blocks.push(...encoder.finish());
    const entriesBlocks = blocks.slice(1, -2).map((block) => ({ payload: block.readUInt32LE(4), entries: block.readUInt32LE(12) }));
    expect(entriesBlocks[0]).toMatchObject({ entries: 1 });
    for (const block of entriesBlocks.slice(1)) expect(block.payload).toBeLessThanOrEqual(4 + 512);
  });

  it('reads a version-1 file (no index)', async () => {
    const bytes = versionOneFile(4242);
    const { result, entries } = await read(bytes);
    expect(result).toEqual({ seq: 4242, entries: 6, bytes: bytes.byteLength });
    expect(entries).toEqual(blocks.flat().map(([key, value]) => [key, asBuffer(value)]));
  });

  it("keeps each entry's version and expiry; a bare value is an entry of the file's seq, never expiring", async () => {
    const entryBlocks: Array<Array<readonly [string, StoredValue | StoredEntry]>> = [
      [
        ['bare', 'b'],
        ['old', entry('o', 1)],
      ],
      [['expiring', entry(Uint8Array.of(9), 40, 1_700_000_000_123)]],
    ];
    const { bytes } = encodeSnapshotFile(50, entryBlocks);
    expect(await readVersioned(bytes)).toEqual([
      ['bare', 'b', 50, 0],
      ['old', 'o', 1, 0],
      ['expiring', '\x09', 40, 1_700_000_000_123],
    ]);
  });

  it("reads a version-2 file (entries without version and expiry): each entry gets the file's seq", async () => {
    const bytes = encodeSnapshotFile(4242, blocks, snapshotFormatVersionUnversioned).bytes;
    expect(bytes.readUInt32LE(8)).toBe(snapshotFormatVersionUnversioned);
    const { result, entries } = await read(bytes);
    expect(result).toEqual({ seq: 4242, entries: 6, bytes: bytes.byteLength });
    expect(entries).toEqual(blocks.flat().map(([key, value]) => [key, asBuffer(value)]));
    expect(await readVersioned(bytes)).toEqual(blocks.flat().map(([key, value]) => [key, asBuffer(value).toString('latin1'), 4242, 0]));
  });

  it("refuses an entry whose version is 0 or past the file's seq", () => {
    const encoder = new SnapshotEncoder(8, 1024);
    encoder.header();
    expect(() => encoder.add('k', entry('v', 0))).toThrow(/entry version 0/);
    expect(() => encoder.add('k', entry('v', 9))).toThrow(/entry version 9/);
    expect(encoder.add('k', entry('v', 8))).toBeUndefined();
  });

  it('refuses a version it does not know, naming it', async () => {
    const unknown = snapshotFormatVersion + 1;
    const bytes = Buffer.concat([encodeSnapshotHeader(1, unknown), snapshotFile(1).bytes.subarray(snapshotHeaderBytes)]);
    expect(await corruption(bytes)).toMatchObject({
      offset: 0,
      reason: expect.stringMatching(new RegExp(`unsupported snapshot format version ${unknown}`)),
    });
  });

  it('reads an empty snapshot', async () => {
    const { bytes } = snapshotFile(0, []);
    const { result, entries } = await read(bytes);
    expect(result).toEqual({ seq: 0, entries: 0, bytes: bytes.byteLength });
    expect(entries).toEqual([]);
  });
});

describe('a damaged snapshot is corrupt, with an offset', () => {
  it('reports every flipped byte at the start of the part it is in, delivering nothing from that part', async () => {
    const { bytes, starts } = snapshotFile(77);
    for (let at = 0; at < bytes.byteLength; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] ^= 0x01;
      const delivered: Array<[string, Buffer]> = [];
      const error = await corruption(damaged, delivered);
      const part = starts.filter((start) => start <= at).length - 1; // 0 header, 1.. entry blocks, then the index and the end block
      expect(error.file).toBe('snap-test.snap');
      expect(error.offset, `byte ${at}`).toBe(starts[part]);
      expect(error.code).toBe('ERR_STORE_CORRUPT');
      // Entries of the blocks before the damage may have been delivered; none of the damaged block.
      const before = blocks.slice(0, Math.max(0, part - 1)).flat();
      expect(delivered).toEqual(before.map(([key, value]) => [key, asBuffer(value)]));
    }
  });

  it('reports a file cut short at any length', async () => {
    const { bytes } = snapshotFile(77);
    for (let length = 0; length < bytes.byteLength; length++) {
      const error = await corruption(bytes.subarray(0, length));
      expect(error.offset).toBeGreaterThanOrEqual(0);
      expect(error.offset).toBeLessThanOrEqual(length);
    }
  });

  it('reports bytes after the end block', async () => {
    const { bytes } = snapshotFile(77);
    for (const extra of [Buffer.alloc(1), Buffer.from('garbage'), encodeEndBlock({ totalEntries: 5, seq: 77 })]) {
      const error = await corruption(Buffer.concat([bytes, extra]));
      expect(error.offset).toBe(bytes.byteLength);
      expect(error.reason).toMatch(/after the end block/);
    }
  });

  it('reports an end block that disagrees with the file, even with valid checksums', async () => {
    const { bytes, starts } = snapshotFile(5, [[['k', 'v']]]);
    const [, , indexAt, endAt] = starts;
    const withEnd = (end: Parameters<typeof encodeEndBlock>[0]) => Buffer.concat([bytes.subarray(0, endAt), encodeEndBlock(end)]);
    const right = { totalEntries: 1, seq: 5, indexOffset: indexAt, entriesBlocks: 1 };
    const cases: Array<[Parameters<typeof encodeEndBlock>[0], RegExp]> = [
      [{ ...right, totalEntries: 2 }, /entry count/],
      [{ ...right, seq: 6 }, /seq/],
      [{ ...right, entriesBlocks: 2 }, /index does not list every entries block/],
      [{ ...right, indexOffset: indexAt - 1 }, /index offset/],
      [{ totalEntries: 1, seq: 5 }, /wrong size/],
    ];
    expect(await read(withEnd(right))).toMatchObject({ result: { entries: 1, seq: 5 } });
    for (const [end, reason] of cases) {
      expect(await corruption(withEnd(end))).toMatchObject({ offset: endAt, reason: expect.stringMatching(reason) });
    }
  });

  it('reports an index that does not describe the blocks, even with valid checksums', async () => {
    const entryBlocks: Entry[][] = [
      [
        ['a', '1'],
        ['b', '2'],
      ],
      [['c', '3']],
    ];
    const { bytes, starts } = snapshotFile(9, entryBlocks);
    const [, first, second, indexAt, endAt] = starts;
    const key = (text: string) => Buffer.from(text);
    const right = [
      { offset: first, entries: 2, firstKey: key('a'), lastKey: key('b') },
      { offset: second, entries: 1, firstKey: key('c'), lastKey: key('c') },
    ];
    const wrongs: Array<[typeof right, number]> = [
      [[{ ...right[0], entries: 1 }, right[1]], indexAt],
      [[{ ...right[0], lastKey: key('a') }, right[1]], indexAt],
      [[right[0], { ...right[1], offset: second + 1 }], indexAt],
      [[...right, right[1]], indexAt],
      [[right[0]], endAt], // the end block counts the blocks the index lists
    ];
    const withIndex = (records: typeof right) =>
      Buffer.concat([bytes.subarray(0, indexAt), encodeIndexBlock(records), bytes.subarray(endAt)]);
    expect(withIndex(right).equals(bytes)).toBe(true);
    for (const [records, offset] of wrongs) {
      const error = await corruption(withIndex(records));
      expect(error.offset).toBe(offset - (offset === endAt ? bytes.byteLength - withIndex(records).byteLength : 0));
    }
  });

  it('refuses an entry whose lengths have their top bits set, even with a valid checksum (lengths read unsigned)', async () => {
    const { bytes, starts } = snapshotFile(9, [[['k', 'v']]]);
    const [, blockAt, indexAt] = starts;
    const firstEntryAt = blockAt + blockHeaderBytes + 4;
    for (const [field, length] of [
      [0, 0x80000001],
      [4, 0xffffffff],
      [0, 0x01000001],
    ] as const) {
      const block = Buffer.from(bytes.subarray(blockAt, indexAt));
      block.writeUInt32LE(length, firstEntryAt - blockAt + field);
      const damaged = Buffer.concat([bytes.subarray(0, blockAt), sealBlock(block, blockKindEntries), bytes.subarray(indexAt)]);
      expect(await corruption(damaged)).toMatchObject({ offset: blockAt, reason: 'block payload does not decode' });
    }
  });

  it('reads keys and values whose lengths take every byte of the length field', async () => {
    const key = 'k'.repeat(70_000); // 0x11170: three bytes of the length
    const value = 'v'.repeat(16_777_217); // 0x1000001: all four
    const { bytes } = snapshotFile(3, [[[key, value]], [['z', '']]]);
    const entries = await read(bytes);
    expect(entries.entries.map(([k, v]) => [k.length, v.byteLength])).toEqual([
      [70_000, 16_777_217],
      [1, 0],
    ]);
    expect(entries.entries[0][1].equals(Buffer.from(value))).toBe(true);
  });

  it('reports a snapshot with no end block', async () => {
    const { bytes, starts } = snapshotFile(5, [[['k', 'v']]]);
    const cut = bytes.subarray(0, starts.at(-1));
    const error = await corruption(cut);
    expect(error.offset).toBe(cut.byteLength);
  });

  it('is not fooled by a header from another format', async () => {
    const { bytes } = snapshotFile(1);
    const wal = Buffer.from(bytes);
    Buffer.from('DKVWAL\r\n', 'latin1').copy(wal, 0);
    expect(await corruption(wal)).toMatchObject({ offset: 0 });
    expect(snapshotHeaderBytes).toBe(32);
  });
});
