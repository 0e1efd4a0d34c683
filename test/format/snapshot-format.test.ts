import { describe, expect, it } from 'vitest';
import type { StoredValue } from '../../src/types.js';
import { StoreCorruptError } from '../../src/index.js';
import {
  encodeEndBlock,
  encodeEntriesBlock,
  encodeSnapshotHeader,
  readSnapshot,
  snapshotHeaderBytes,
  type SnapshotReadResult,
} from '../../src/format/snapshot-format.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

type Entry = readonly [string, StoredValue];

const blocks: Entry[][] = [
  [
    ['a', '1'],
    ['', 'empty key'],
    ['🎉|\n', 'emoji'],
  ],
  [['binary', Uint8Array.of(0, 1, 2, 255)]],
  [],
  [
    ['long', 'z'.repeat(700)],
    ['empty value', ''],
  ],
];

/** A snapshot file of `blocks` at `seq`, and where each part (header, blocks, end block) starts. */
function snapshotFile(seq: number, entryBlocks: Entry[][] = blocks): { bytes: Buffer; starts: number[] } {
  const parts = [encodeSnapshotHeader(seq), ...entryBlocks.map((block) => encodeEntriesBlock(block))];
  const total = entryBlocks.reduce((sum, block) => sum + block.length, 0);
  parts.push(encodeEndBlock(total, seq));
  const starts: number[] = [];
  let at = 0;
  for (const part of parts) {
    starts.push(at);
    at += part.byteLength;
  }
  return { bytes: Buffer.concat(parts), starts };
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

const asBuffer = (value: StoredValue) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value));

describe('snapshot round-trip', () => {
  it('reads back every entry, in order, with the seq, count and size', async () => {
    const { bytes } = snapshotFile(12345);
    const { result, entries } = await read(bytes);
    expect(result).toEqual({ seq: 12345, entries: 6, bytes: bytes.byteLength });
    expect(entries).toEqual(blocks.flat().map(([key, value]) => [key, asBuffer(value)]));
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
      const part = starts.filter((start) => start <= at).length - 1; // 0 header, 1.. entry blocks, last the end block
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
    for (const extra of [Buffer.alloc(1), Buffer.from('garbage'), encodeEndBlock(6, 77)]) {
      const error = await corruption(Buffer.concat([bytes, extra]));
      expect(error.offset).toBe(bytes.byteLength);
      expect(error.reason).toMatch(/after the end block/);
    }
  });

  it('reports an end block whose count or seq disagrees, even with valid checksums', async () => {
    const parts = [encodeSnapshotHeader(5), encodeEntriesBlock([['k', 'v']])];
    const endAt = parts[0].byteLength + parts[1].byteLength;
    const wrongCount = await corruption(Buffer.concat([...parts, encodeEndBlock(2, 5)]));
    expect(wrongCount).toMatchObject({ offset: endAt, reason: expect.stringMatching(/entry count/) });
    const wrongSeq = await corruption(Buffer.concat([...parts, encodeEndBlock(1, 6)]));
    expect(wrongSeq).toMatchObject({ offset: endAt, reason: expect.stringMatching(/seq/) });
  });

  it('reports a snapshot with no end block', async () => {
    const bytes = Buffer.concat([encodeSnapshotHeader(5), encodeEntriesBlock([['k', 'v']])]);
    const error = await corruption(bytes);
    expect(error.offset).toBe(bytes.byteLength);
  });

  it('is not fooled by a header from another format', async () => {
    const { bytes } = snapshotFile(1);
    const wal = Buffer.from(bytes);
    Buffer.from('DKVWAL\r\n', 'latin1').copy(wal, 0);
    expect(await corruption(wal)).toMatchObject({ offset: 0 });
    expect(snapshotHeaderBytes).toBe(32);
  });
});
