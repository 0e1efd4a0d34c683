import { describe, expect, it } from 'vitest';
import type { EncodableOp } from '../../src/types.js';
import {
  checkSegmentHeader,
  checkWalRecord,
  encodeSegmentHeader,
  encodeSyncMarker,
  encodeWalRecord,
  isSyncMarker,
  parseWalRecord,
  walSyncMarkerBytes,
  walRecordBytes,
  walSegmentHeaderBytes,
} from '../../src/format/wal-format.js';
import { scanSegment } from '../../src/format/wal-reader.js';
import { crc32c } from '../../src/format/crc32c.js';

function put(key: string, value: string | Uint8Array): EncodableOp {
  const valueBytes = typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
  return { type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes, expiresAt: 0 };
}

function del(key: string): EncodableOp {
  return { type: 'delete', key, keyBytes: Buffer.byteLength(key) };
}

function encodeRecord(seq: number, ops: EncodableOp[]): Buffer {
  const buffer = Buffer.alloc(walRecordBytes(ops));
  expect(encodeWalRecord(buffer, 0, seq, ops, 0)).toBe(buffer.byteLength);
  return buffer;
}

/** A segment: header, then one record per entry of `records`, with the given seqs. */
function segment(records: Array<[seq: number, ops: EncodableOp[]]>): { bytes: Buffer; offsets: number[] } {
  const parts = [encodeSegmentHeader()];
  const offsets: number[] = [];
  let at = walSegmentHeaderBytes;
  for (const [seq, ops] of records) {
    offsets.push(at);
    const record = encodeRecord(seq, ops);
    parts.push(record);
    at += record.byteLength;
  }
  return { bytes: Buffer.concat(parts), offsets };
}

const sampleOps: EncodableOp[] = [put('key', 'value'), del('gone'), put('', ''), put('🎉|\n', Uint8Array.of(0, 255, 7))];

/** Five records, seqs 1..5, of varying shapes. */
function fiveRecords() {
  return segment([
    [1, [put('a', '1')]],
    [2, sampleOps],
    [3, [del('a')]],
    [4, [put('long', 'x'.repeat(300))]],
    [5, [put('last', 'record')]],
  ]);
}

describe('record encode/parse round-trip', () => {
  it('parses back exactly the ops, seq, offset and size that were encoded', () => {
    const record = encodeRecord(42, sampleOps);
    const parsed = parseWalRecord(record, 0);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.record.seq).toBe(42);
    expect(parsed.record.offset).toBe(0);
    expect(parsed.record.bytes).toBe(record.byteLength);
    expect(parsed.record.ops).toEqual([
      { type: 'put', key: 'key', value: Buffer.from('value'), expiresAt: 0 },
      { type: 'delete', key: 'gone', expired: false },
      { type: 'put', key: '', value: Buffer.alloc(0), expiresAt: 0 },
      { type: 'put', key: '🎉|\n', value: Buffer.from([0, 255, 7]), expiresAt: 0 },
    ]);
  });

  it('parses back the expiry of a put, an expired delete and an expire op', () => {
    const expiresAt = 2 ** 40 + 17;
    const ops: EncodableOp[] = [
      { type: 'put', key: 'ttl', keyBytes: 3, value: 'v', valueBytes: 1, expiresAt },
      { type: 'delete', key: 'old', keyBytes: 3, expired: true },
      { type: 'expire', key: 'k', keyBytes: 1, expiresAt: 1_700_000_000_000 },
      { type: 'expire', key: 'persist', keyBytes: 7, expiresAt: 0 },
    ];
    const record = encodeRecord(9, ops);
    expect(record.byteLength).toBe(walRecordBytes(ops));
    const parsed = parseWalRecord(record, 0);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.record.ops).toEqual([
      { type: 'put', key: 'ttl', value: Buffer.from('v'), expiresAt },
      { type: 'delete', key: 'old', expired: true },
      { type: 'expire', key: 'k', expiresAt: 1_700_000_000_000 },
      { type: 'expire', key: 'persist', expiresAt: 0 },
    ]);
  });

  it('measures records exactly (walRecordBytes matches what is encoded)', () => {
    for (const ops of [[del('')], [put('k', 'v')], sampleOps, [put('big', 'y'.repeat(70_000))]]) {
      const target = Buffer.alloc(walRecordBytes(ops) + 10);
      expect(encodeWalRecord(target, 5, 1, ops, 0)).toBe(5 + walRecordBytes(ops));
    }
  });

  it('writes ASCII and non-ASCII strings alike as UTF-8 (the encoder takes a latin1 fast path only for ASCII)', () => {
    const texts = ['plain ascii', 'café', 'ключ', '🎉', 'ÿ', '\u0080', 'mixed ascii and é at the end é', '\u07ff\u0800\uffff'];
    for (const text of texts) {
      const parsed = parseWalRecord(encodeRecord(7, [put(text, text)]), 0);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      expect(parsed.record.ops).toEqual([{ type: 'put', key: text, value: Buffer.from(text, 'utf8'), expiresAt: 0 }]);
    }
  });

  it('handles seqs beyond 32 bits', () => {
    const seq = 2 ** 40 + 3;
    const parsed = parseWalRecord(encodeRecord(seq, [put('k', 'v')]), 0);
    expect(parsed.ok && parsed.record.seq).toBe(seq);
  });

  it('reads records back to back through scanSegment', () => {
    const { bytes, offsets } = fiveRecords();
    const scan = scanSegment(bytes, 0);
    expect(scan.damage).toBeUndefined();
    expect(scan.validBytes).toBe(bytes.byteLength);
    expect(scan.records.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(scan.records.map((record) => record.offset)).toEqual(offsets);
  });
});

describe('a damaged record never parses', () => {
  it('fails on any flipped bit pattern at every byte position, never returning a wrong record', () => {
    const record = encodeRecord(7, sampleOps);
    for (let at = 0; at < record.byteLength; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = Buffer.from(record);
        damaged[at] ^= mask;
        const parsed = parseWalRecord(damaged, 0);
        expect(parsed.ok, `byte ${at} ^ ${mask}`).toBe(false);
        if (!parsed.ok) expect(parsed.reason).toMatch(/checksum|out of range|past the end/);
      }
    }
  });

  it('fails when the record is cut short at any length', () => {
    const record = encodeRecord(7, sampleOps);
    for (let length = 0; length < record.byteLength; length++) {
      expect(parseWalRecord(record.subarray(0, length), 0).ok, `length ${length}`).toBe(false);
    }
  });

  /** A record header with a correct checksum over whatever length, seq and payload it is given. */
  function sealed(payloadBytes: number, seq: bigint, payload: Buffer): Buffer {
    const record = Buffer.concat([Buffer.alloc(20), payload]);
    record.writeUInt32LE(payloadBytes, 4);
    record.writeBigUInt64LE(seq, 8);
    record.writeUInt32LE(crc32c(record.subarray(4)), 0);
    return record;
  }

  it('refuses seq 0 with ops, a seq beyond 2^53 and an empty payload even with a matching checksum', () => {
    const noOps = Buffer.alloc(4);
    expect(parseWalRecord(sealed(4, 1n, noOps), 0).ok).toBe(true);
    const oneDelete = Buffer.from([1, 0, 0, 0, 2, 0, 0, 0, 0]); // one op: delete of the empty key
    expect(parseWalRecord(sealed(9, 1n, oneDelete), 0).ok).toBe(true);
    expect(parseWalRecord(sealed(9, 0n, oneDelete), 0)).toMatchObject({ ok: false, reason: 'sync marker with ops' });
    expect(parseWalRecord(sealed(4, 2n ** 60n, noOps), 0)).toMatchObject({ ok: false, reason: expect.stringMatching(/sequence number/) });
    expect(parseWalRecord(sealed(0, 1n, Buffer.alloc(0)), 0)).toMatchObject({ ok: false, reason: expect.stringMatching(/out of range/) });
  });

  it('reads seq 0 with no ops as a sync marker, which carries no write', () => {
    const marker = Buffer.alloc(walSyncMarkerBytes);
    encodeSyncMarker(marker, 0, 0);
    const checked = checkWalRecord(marker, 0);
    expect(checked.ok && isSyncMarker(checked.span)).toBe(true);
    expect(parseWalRecord(sealed(4, 0n, Buffer.alloc(4)), 0)).toMatchObject({ ok: true, record: { seq: 0, ops: [] } });
  });

  it('refuses a payload that does not decode to exactly its length, even with a matching checksum', () => {
    const oneOpMissing = Buffer.alloc(4);
    oneOpMissing.writeUInt32LE(1, 0); // claims one op, holds none
    expect(parseWalRecord(sealed(4, 1n, oneOpMissing), 0)).toMatchObject({ ok: false, reason: 'payload does not decode' });
    const trailing = Buffer.alloc(5); // zero ops, then a stray byte
    expect(parseWalRecord(sealed(5, 1n, trailing), 0)).toMatchObject({ ok: false, reason: 'payload does not decode' });
    const unknownType = Buffer.from([1, 0, 0, 0, 9, 0, 0, 0, 0]);
    expect(parseWalRecord(sealed(9, 1n, unknownType), 0)).toMatchObject({ ok: false, reason: 'payload does not decode' });
  });
});

describe('scanSegment tells a torn tail from corruption', () => {
  it('reports truncation at every offset of the last record as damage with no valid record after it', () => {
    const { bytes, offsets } = fiveRecords();
    const last = offsets.at(-1)!;
    for (let cut = last + 1; cut < bytes.byteLength; cut++) {
      const scan = scanSegment(bytes.subarray(0, cut), 0);
      expect(scan.records.map((record) => record.seq)).toEqual([1, 2, 3, 4]);
      expect(scan.validBytes).toBe(last);
      expect(scan.damage?.offset).toBe(last);
      expect(scan.damage?.validRecordAfter).toBeUndefined();
    }
  });

  it('reports a flipped byte in a middle record as damage with the next valid record after it', () => {
    const { bytes, offsets } = fiveRecords();
    const third = offsets[2];
    const fourth = offsets[3];
    for (let at = third; at < fourth; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] ^= 0x20;
      const scan = scanSegment(damaged, 0);
      expect(
        scan.records.map((record) => record.seq),
        `byte ${at}`,
      ).toEqual([1, 2]);
      expect(scan.damage?.offset).toBe(third);
      expect(scan.damage?.validRecordAfter).toMatchObject({ seq: 4, offset: fourth });
    }
  });

  it('reports a record whose seq does not follow as damage, with that record as the valid one after', () => {
    const { bytes, offsets } = segment([
      [1, [put('a', '1')]],
      [2, [put('b', '2')]],
      [4, [put('d', '4')]],
      [5, [put('e', '5')]],
    ]);
    const scan = scanSegment(bytes, 0);
    expect(scan.records.map((record) => record.seq)).toEqual([1, 2]);
    expect(scan.damage).toMatchObject({ offset: offsets[2], validRecordAfter: { seq: 4 } });
    expect(scan.damage?.reason).toMatch(/sequence number 4 where 3 was expected/);
  });

  it('reports a repeated seq as damage', () => {
    const { bytes, offsets } = segment([
      [1, [put('a', '1')]],
      [2, [put('b', '2')]],
      [2, [put('b', 'again')]],
    ]);
    const scan = scanSegment(bytes, 0);
    expect(scan.records).toHaveLength(2);
    expect(scan.damage?.offset).toBe(offsets[2]);
  });

  it('reports a first record that does not follow the previous segment as damage', () => {
    const { bytes } = segment([[10, [put('a', '1')]]]);
    expect(scanSegment(bytes, 9).damage).toBeUndefined();
    expect(scanSegment(bytes, 5).damage).toMatchObject({ offset: walSegmentHeaderBytes });
  });

  it('reads a zero-filled tail as the clean end (preallocated space): no damage, no records invented', () => {
    const { bytes } = fiveRecords();
    for (const zeros of [1, 15, 16, 100, 4096]) {
      const scan = scanSegment(Buffer.concat([bytes, Buffer.alloc(zeros)]), 0);
      expect(scan.records.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(scan.validBytes).toBe(bytes.byteLength);
      expect(scan.damage).toBeUndefined();
    }
  });

  it('reads a segment of only zeros after the header as no records and no damage', () => {
    const scan = scanSegment(Buffer.concat([encodeSegmentHeader(), Buffer.alloc(512)]), 0);
    expect(scan.records).toEqual([]);
    expect(scan.validBytes).toBe(walSegmentHeaderBytes);
    expect(scan.damage).toBeUndefined();
  });
});

describe('segment header', () => {
  it('accepts the encoded header and refuses any flipped byte or a short one', () => {
    const header = encodeSegmentHeader();
    expect(header.byteLength).toBe(walSegmentHeaderBytes);
    expect(checkSegmentHeader(header)).toBeUndefined();
    for (let at = 0; at < header.byteLength; at++) {
      const damaged = Buffer.from(header);
      damaged[at] ^= 0x01;
      expect(checkSegmentHeader(damaged), `byte ${at}`).toEqual(expect.any(String));
    }
    for (let length = 0; length < header.byteLength; length++) {
      expect(checkSegmentHeader(header.subarray(0, length))).toEqual(expect.any(String));
    }
  });
});
