/**
 * The replication frame (src/format/replication-frame.ts): what a leader encodes a follower decodes
 * to the same ops, and no damage (a flipped bit anywhere, a cut, extra bytes, a seq out of order)
 * is decoded as records.
 */
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../src/codec.js';
import { encodeRangeSpec } from '../../src/format/range-spec.js';
import { decodeReplicationFrame, encodeReplicationFrame, type FrameRecord, peekFrameSeqs } from '../../src/format/replication-frame.js';
import type { EncodableOp, KeyRange } from '../../src/types.js';

const fromBytes = codecFor('utf8').fromBytes;
const range: KeyRange = {
  lower: 'a',
  lowerInclusive: true,
  upper: 'b',
  upperInclusive: false,
  prefix: '',
  reverse: false,
  limit: Infinity,
};
const records: FrameRecord[] = [
  { seq: 41, ops: [{ type: 'put', key: 'k', keyBytes: 1, value: 'v', valueBytes: 1, expiresAt: 0 }] },
  {
    seq: 42,
    ops: [
      { type: 'put', key: 'ключ', keyBytes: 8, value: 'значение', valueBytes: 16, expiresAt: 1_900_000_000_000 },
      { type: 'delete', key: 'gone', keyBytes: 4, expired: true },
      { type: 'expire', key: 'k', keyBytes: 1, expiresAt: 1_800_000_000_000 },
    ],
  },
  { seq: 43, ops: [{ type: 'deleteRange', range, spec: encodeRangeSpec(range), keyBytes: encodeRangeSpec(range).byteLength }] },
];

describe('replication frame: round trip', () => {
  it('decodes the records it encoded, op by op, with their seqs', () => {
    const result = decodeReplicationFrame(encodeReplicationFrame(records), fromBytes);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.frame.firstSeq).toBe(41);
    const expected = records.map((record) =>
      record.ops.map((op) => (op.type === 'delete' ? { ...op, expired: op.expired ?? false } : op) as EncodableOp),
    );
    expect(result.frame.records).toEqual(expected);
    expect(peekFrameSeqs(encodeReplicationFrame(records))).toEqual({ firstSeq: 41, lastSeq: 43 });
  });

  it('refuses to encode seqs that are not consecutive', () => {
    expect(() => encodeReplicationFrame([records[0], records[2]])).toThrow(/consecutive/);
  });
});

describe('replication frame: damage', () => {
  const frame = encodeReplicationFrame(records);

  it('detects every single flipped bit', () => {
    for (let byte = 0; byte < frame.byteLength; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(frame);
        damaged[byte] ^= 1 << bit;
        const result = decodeReplicationFrame(damaged, fromBytes);
        if (result.ok) throw new Error(`bit ${bit} of byte ${byte} flipped and the frame still decoded`);
      }
    }
  });

  it('detects a frame cut short or with bytes after its last record', () => {
    for (let length = 0; length < frame.byteLength; length++) {
      expect(decodeReplicationFrame(frame.subarray(0, length), fromBytes).ok).toBe(false);
    }
    const longer = decodeReplicationFrame(Buffer.concat([frame, Buffer.alloc(1)]), fromBytes);
    expect(longer).toMatchObject({ ok: false, reason: expect.stringMatching(/after the last record/) });
  });
});
