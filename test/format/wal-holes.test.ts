/**
 * How the reader tells the end of a preallocated segment, a torn tail and corruption apart, from the
 * records' durableBytes (format v2). See the comment at the top of src/format/wal-reader.ts.
 */
import { describe, expect, it } from 'vitest';
import type { EncodableOp } from '../../src/types.js';
import {
  checkSegmentHeader,
  checkWalRecord,
  encodeSegmentHeader,
  encodeSyncMarker,
  encodeWalRecord,
  walRecordBytes,
  walSegmentHeaderBytes,
  walSyncMarkerBytes,
} from '../../src/format/wal-format.js';
import { walkSegment } from '../../src/format/wal-reader.js';
import { isTornTail } from '../../src/recovery/plan.js';
import { crc32c } from '../../src/format/crc32c.js';

function put(key: string, value: string): EncodableOp {
  return { type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes: Buffer.byteLength(value), expiresAt: 0 };
}

/**
 * A segment written as the WAL actor writes one: records back to back from the header, record i
 * with seq i + 1 and the durableBytes `durable(offset of the record, i)` returns; then `zeros`
 * zero bytes (preallocated space).
 */
function segment(count: number, durable: (offset: number, index: number) => number, zeros = 0) {
  const parts = [encodeSegmentHeader()];
  const offsets: number[] = [];
  let at = walSegmentHeaderBytes;
  for (let index = 0; index < count; index++) {
    const ops = [put(`key${index}`, `value ${index} `.repeat(1 + (index % 3)))];
    const record = Buffer.alloc(walRecordBytes(ops));
    encodeWalRecord(record, 0, index + 1, ops, durable(at, index));
    offsets.push(at);
    parts.push(record);
    at += record.byteLength;
  }
  parts.push(Buffer.alloc(zeros));
  return { bytes: Buffer.concat(parts), offsets, end: at };
}

/** Each record written after the one before it was synced (sequential durable puts). */
const afterPreviousSync = (offset: number) => offset;
/** Every record written while the first one's fsync was still running: none knew more than the header durable. */
const noneSynced = () => walSegmentHeaderBytes;

function zeroed(bytes: Buffer, from: number, to: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(0, from, to);
  return copy;
}

describe('rule 1: zeros to the end of the file are the clean end of a segment', () => {
  it('reads records then zeros as every record, no damage, valid up to the last record', () => {
    const { bytes, end, offsets } = segment(6, afterPreviousSync, 4096);
    const walk = walkSegment(bytes, 0, () => {});
    // The last record claims everything before it durable.
    expect(walk).toEqual({ records: 6, lastSeq: 6, validBytes: end, recordsEndBytes: end, claimedBytes: offsets[5] });
  });

  it('reads a header then only zeros as an empty segment', () => {
    const walk = walkSegment(Buffer.concat([encodeSegmentHeader(), Buffer.alloc(1 << 20)]), 41, () => {});
    const header = walSegmentHeaderBytes;
    expect(walk).toEqual({ records: 0, lastSeq: 41, validBytes: header, recordsEndBytes: header, claimedBytes: header });
  });

  it('does not take a single stray byte in the zeros for the end', () => {
    const { bytes, end } = segment(6, afterPreviousSync, 4096);
    const stray = Buffer.from(bytes);
    stray[stray.byteLength - 1] = 1;
    const walk = walkSegment(stray, 0, () => {});
    expect(walk.damage).toMatchObject({ offset: end, validRecordAfter: undefined, provenDurable: false });
  });
});

describe('rule 2: damage with nothing valid after it is a torn tail', () => {
  it('cuts a record torn at any length, then zeros (its unwritten sectors), at its start', () => {
    const { bytes, offsets, end } = segment(5, afterPreviousSync, 2048);
    const last = offsets.at(-1)!;
    for (let kept = 1; kept < end - last; kept++) {
      const torn = zeroed(bytes, last + kept, end);
      const walk = walkSegment(torn, 0, () => {});
      if (walk.damage === undefined) {
        // Only when the zeroed part was already zero in the record: then it reads whole or not at all.
        expect(walk.records, `kept ${kept}`).toBe(5);
        continue;
      }
      expect(walk, `kept ${kept}`).toMatchObject({ records: 4, validBytes: last, damage: { offset: last, validRecordAfter: undefined } });
      expect(isTornTail(walk.damage, true), `kept ${kept}`).toBe(true);
    }
  });
});

describe('rule 3: a hole with valid records after it', () => {
  it('is a torn tail when no later record knew the hole durable (durableBytes <= its offset); the later records are dropped', () => {
    const { bytes, offsets } = segment(8, noneSynced, 4096);
    // A power loss kept records 1, 2 and 5..8, but not the sectors of 3 and 4.
    const hole = zeroed(bytes, offsets[2], offsets[4]);
    const seen: number[] = [];
    const walk = walkSegment(hole, 0, (span) => seen.push(span.seq));
    expect(seen).toEqual([1, 2]);
    expect(walk.validBytes).toBe(offsets[2]);
    expect(walk.damage).toMatchObject({ offset: offsets[2], validRecordAfter: { seq: 5, offset: offsets[4] }, provenDurable: false });
    expect(walk.damage!.durableBytesAfter).toBeLessThanOrEqual(offsets[2]);
    expect(isTornTail(walk.damage!, true)).toBe(true);
  });

  it('is a torn tail when the hole starts exactly where the later records knew the segment durable (W = X)', () => {
    const { offsets } = segment(8, afterPreviousSync); // record sizes do not depend on durableBytes
    const { bytes } = segment(8, (offset, index) => (index >= 3 ? offsets[2] : offset));
    const hole = zeroed(bytes, offsets[2], offsets[3]);
    const walk = walkSegment(hole, 0, () => {});
    expect(walk.damage).toMatchObject({ offset: offsets[2], durableBytesAfter: offsets[2], provenDurable: false });
    expect(isTornTail(walk.damage!, true)).toBe(true);
  });

  it('is corruption when a later record knew the damaged bytes durable (durableBytes > its offset)', () => {
    const { bytes, offsets } = segment(8, afterPreviousSync, 4096);
    for (const [from, to] of [
      [offsets[2], offsets[3]],
      [offsets[2] + 5, offsets[2] + 6],
      [offsets[6], offsets[7]],
    ]) {
      const damaged = zeroed(bytes, from, to);
      damaged[from] ^= 0x5a; // not zeros only: a flipped byte or a zeroed run alike
      const walk = walkSegment(damaged, 0, () => {});
      const recordStart = offsets.filter((offset) => offset <= from).at(-1)!;
      expect(walk.damage).toMatchObject({ offset: recordStart, provenDurable: true });
      expect(walk.damage!.durableBytesAfter).toBeGreaterThan(recordStart);
      expect(isTornTail(walk.damage!, true)).toBe(false);
    }
  });

  it('looks past further damage: a record after a second hole can still prove the first one durable', () => {
    // Records 5..8 were written after record 2 was synced; 3..4 before.
    const offsets = segment(8, afterPreviousSync).offsets;
    const { bytes } = segment(8, (offset, index) => (index >= 6 ? offsets[5] : index >= 2 ? offsets[2] : offset));
    // Hole in record 3 (at X = offsets[2]) and another in record 6; 7 and 8 knew up to offsets[5] durable.
    const damaged = zeroed(zeroed(bytes, offsets[2] + 3, offsets[2] + 9), offsets[5] + 3, offsets[5] + 9);
    const walk = walkSegment(damaged, 0, () => {});
    expect(walk.damage).toMatchObject({
      offset: offsets[2],
      validRecordAfter: { seq: 4 },
      durableBytesAfter: offsets[5],
      provenDurable: true,
    });
    // Without records 7 and 8 (their sectors lost too), nothing proves it: a torn tail.
    const lost = zeroed(damaged, offsets[6], damaged.byteLength);
    expect(walkSegment(lost, 0, () => {}).damage).toMatchObject({
      offset: offsets[2],
      durableBytesAfter: offsets[2],
      provenDurable: false,
    });
  });

  it('counts a valid record whose seq is out of order as proof, never as a torn tail', () => {
    const a = segment(2, afterPreviousSync);
    // After records 1 and 2, a valid record with seq 5 (3 expected): written whole, so not a power loss.
    const ops = [put('k', 'v')];
    const record = Buffer.alloc(walRecordBytes(ops));
    encodeWalRecord(record, 0, 5, ops, a.end);
    const spliced = Buffer.concat([a.bytes, record, Buffer.alloc(100)]);
    a.offsets.push(a.end);
    const walk = walkSegment(spliced, 0, () => {});
    expect(walk.damage).toMatchObject({ offset: a.offsets[2], provenDurable: true });
    expect(isTornTail(walk.damage!, true)).toBe(false);
  });
});

describe('rule 4: damage in a segment that later segments follow is corruption', () => {
  it('calls no damage a torn tail unless its segment is the last', () => {
    const { bytes, offsets } = segment(8, noneSynced, 512);
    const walk = walkSegment(zeroed(bytes, offsets[2], offsets[4]), 0, () => {});
    expect(isTornTail(walk.damage!, true)).toBe(true);
    expect(isTornTail(walk.damage!, false)).toBe(false);
  });
});

describe('a record is checked against its own offset', () => {
  it('is damage when it claims more bytes durable than precede it', () => {
    const ops = [put('k', 'v')];
    for (const [offset, durableBytes, ok] of [
      [16, 16, true],
      [16, 17, false],
      [100, 99, true],
      [100, 101, false],
      [16, 0xffff_ffff, false],
    ] as const) {
      const bytes = Buffer.alloc(offset + walRecordBytes(ops));
      encodeWalRecord(bytes, offset, 1, ops, durableBytes);
      const checked = checkWalRecord(bytes, offset);
      expect(checked.ok, `durableBytes ${durableBytes} at ${offset}`).toBe(ok);
      if (!checked.ok) expect(checked.reason).toMatch(/claims \d+ durable bytes/);
    }
  });

  it('refuses to encode a durableBytes that does not fit its u32 field', () => {
    const ops = [put('k', 'v')];
    expect(() => encodeWalRecord(Buffer.alloc(walRecordBytes(ops)), 0, 1, ops, 2 ** 32)).toThrow(/durableBytes/);
    expect(() => encodeWalRecord(Buffer.alloc(walRecordBytes(ops)), 0, 1, ops, -1)).toThrow(/durableBytes/);
  });
});

describe('format version', () => {
  it('refuses a version-1 segment header like any bad header', () => {
    const v1 = encodeSegmentHeader();
    v1.writeUInt32LE(1, 8);
    v1.writeUInt32LE(crc32c(v1.subarray(0, 12)), 12);
    expect(checkSegmentHeader(v1)).toMatch(/unsupported WAL format version 1/);
    expect(checkSegmentHeader(encodeSegmentHeader())).toBeUndefined();
  });
});

/** `bytes` (records, no zero tail) with a sync marker appended at its end, claiming `claimedBytes`. */
function withMarker(bytes: Buffer, claimedBytes: number): Buffer {
  const marker = Buffer.alloc(walSyncMarkerBytes);
  encodeSyncMarker(marker, 0, claimedBytes);
  return Buffer.concat([bytes, marker]);
}

describe('rule 4: a sync marker proves the bytes before its claim durable', () => {
  it('is passed over by the walk: no record, no seq, but its claim and its bytes count', () => {
    const { bytes, end } = segment(3, noneSynced);
    const seqs: number[] = [];
    const walk = walkSegment(withMarker(bytes, end), 0, (span) => seqs.push(span.seq));
    expect(seqs).toEqual([1, 2, 3]);
    expect(walk).toEqual({ records: 3, lastSeq: 3, validBytes: end + walSyncMarkerBytes, recordsEndBytes: end, claimedBytes: end });
  });

  it('makes damage before its claim corruption, where without it the same damage is a torn tail', () => {
    const { bytes, offsets, end } = segment(6, noneSynced);
    const damaged = zeroed(bytes, offsets[2] + 3, offsets[2] + 9);
    const unproven = walkSegment(damaged, 0, () => {});
    expect(unproven.damage?.provenDurable).toBe(false);
    expect(isTornTail(unproven.damage!, true)).toBe(true);
    const proven = walkSegment(withMarker(damaged, end), 0, () => {});
    expect(proven.damage).toMatchObject({ offset: offsets[2], provenDurable: true, durableBytesAfter: end });
    expect(isTornTail(proven.damage!, true)).toBe(false);
  });

  it('proves nothing past its claim: damage after what it claims stays a torn tail', () => {
    const { bytes, offsets } = segment(6, noneSynced);
    const damaged = zeroed(withMarker(bytes, offsets[4]), offsets[4] + 3, offsets[4] + 9);
    expect(walkSegment(damaged, 0, () => {}).damage).toMatchObject({ offset: offsets[4], provenDurable: false });
  });
});
