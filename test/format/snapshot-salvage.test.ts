/**
 * Salvage keeps every entry of a damaged snapshot that checks out, and says exactly what it lost:
 * one damaged byte costs the entries of one block, and the index names them.
 */
import { describe, expect, it } from 'vitest';
import { encodeEndBlock, encodeSnapshotFile, encodeSnapshotHeader, snapshotHeaderBytes } from '../../src/format/snapshot-format.js';
import { salvageSnapshot } from '../../src/format/snapshot-salvage.js';

type Entry = readonly [string, string];

const blocks: Entry[][] = Array.from({ length: 4 }, (_, block) =>
  Array.from({ length: 3 + block }, (_, i) => [`b${block}-k${i}`, `value ${block}.${i}`] as const),
);
const seq = 321;

function salvaged(bytes: Buffer, seqFromName = seq) {
  const entries: Entry[] = [];
  const result = salvageSnapshot(bytes, seqFromName, (key, payload, start, end) =>
    entries.push([key, payload.toString('utf8', start, end)]),
  );
  return { result, entries };
}

const flip = (bytes: Buffer, at: number, mask = 0x04) => {
  const damaged = Buffer.from(bytes);
  damaged[at] ^= mask;
  return damaged;
};

/** Which part of the file `at` is in: -1 header, 0..3 an entries block, 4 the index, 5 the end block. */
function partOf(starts: number[], at: number): number {
  return starts.filter((start) => start <= at).length - 2;
}

describe('salvage of an indexed snapshot', () => {
  const { bytes, starts } = encodeSnapshotFile(seq, blocks);

  it('keeps everything of an intact file, losing nothing', () => {
    const { result, entries } = salvaged(bytes);
    expect(result).toMatchObject({ seq, entriesKept: 18, blocksKept: 4, damage: [], lost: { keys: 0 } });
    expect(entries).toEqual(blocks.flat());
  });

  it('for every flipped byte: loses exactly the damaged block, named by count and first and last key', () => {
    for (let at = 0; at < bytes.byteLength; at++) {
      const { result, entries } = salvaged(flip(bytes, at));
      const part = partOf(starts, at);
      const lostBlock = part >= 0 && part < blocks.length ? blocks[part] : [];
      const kept = blocks.filter((_, index) => index !== part).flat();
      expect(entries, `byte ${at}`).toEqual(kept);
      expect(result.seq, `byte ${at}`).toBe(seq);
      expect(result.damage, `byte ${at}`).toHaveLength(1);
      expect(result.damage[0].offset, `byte ${at}`).toBe(starts[part + 1]);
      expect(result.lost, `byte ${at}`).toEqual({
        keys: lostBlock.length,
        firstKey: lostBlock.at(0)?.[0],
        lastKey: lostBlock.at(-1)?.[0],
      });
    }
  });

  it('finds the next block by scanning when the index is damaged too, and counts the loss from the end block', () => {
    const indexAt = starts[blocks.length + 1];
    const damaged = flip(flip(bytes, indexAt + 20), starts[2] + 4, 0x40); // the index, and block 1's length
    const { result, entries } = salvaged(damaged);
    expect(entries).toEqual([...blocks[0], ...blocks[2], ...blocks[3]]);
    expect(result.lost).toEqual({ keys: blocks[1].length, firstKey: undefined, lastKey: undefined });
    expect(result.damage.map((damage) => damage.offset)).toEqual([starts[2], indexAt]);
  });

  it('takes the seq from the end block when the header is damaged, and from the name when both are', () => {
    const header = flip(bytes, 17);
    expect(salvaged(header, 999).result).toMatchObject({ seq, entriesKept: 18, lost: { keys: 0 } });
    const both = flip(header, bytes.byteLength - 3);
    expect(salvaged(both, 999).result).toMatchObject({ seq: 999, entriesKept: 18, lost: { keys: 0 } });
    expect(salvaged(both, 999).result.damage.map((damage) => damage.offset)).toEqual([0, starts.at(-1)]);
  });

  it('loses an unknown number only when neither the index nor the end block survives beside a damaged block', () => {
    const damaged = flip(flip(flip(bytes, starts[1] + 20), starts[blocks.length + 1] + 20), bytes.byteLength - 3);
    const { result, entries } = salvaged(damaged);
    expect(entries).toEqual(blocks.slice(1).flat());
    expect(result.lost).toEqual({ keys: undefined, firstKey: undefined, lastKey: undefined });
  });
});

describe('salvage of an empty snapshot', () => {
  it('loses nothing, wherever the flip: a damaged end block is not taken for entries', () => {
    const { bytes } = encodeSnapshotFile(seq, []);
    for (let at = 0; at < bytes.byteLength; at++) {
      const { result, entries } = salvaged(flip(bytes, at));
      expect(entries, `byte ${at}`).toEqual([]);
      expect(result, `byte ${at}`).toMatchObject({ seq, entriesKept: 0, lost: { keys: 0 } });
    }
  });
});

describe('salvage of a version-1 snapshot (no index)', () => {
  // Version 1 entries are laid out as version 2's (no version or expiry per entry).
  const { bytes: indexed, starts } = encodeSnapshotFile(seq, blocks, 2);
  const entriesEnd = starts[blocks.length + 1];
  const total = blocks.flat().length;
  const bytes = Buffer.concat([
    encodeSnapshotHeader(seq, 1),
    indexed.subarray(snapshotHeaderBytes, entriesEnd),
    encodeEndBlock({ totalEntries: total, seq }),
  ]);

  it('keeps every other block and counts the lost entries from the end block', () => {
    for (let block = 0; block < blocks.length; block++) {
      for (const at of [starts[block + 1], starts[block + 1] + 5, starts[block + 2] - 1]) {
        const { result, entries } = salvaged(flip(bytes, at));
        expect(entries, `byte ${at}`).toEqual(blocks.filter((_, index) => index !== block).flat());
        expect(result.lost, `byte ${at}`).toEqual({ keys: blocks[block].length, firstKey: undefined, lastKey: undefined });
      }
    }
  });
});
