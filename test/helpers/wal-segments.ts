import type { EncodableOp } from '../../src/types.js';
import {
  encodeSegmentHeader,
  encodeWalRecord,
  walRecordBytes,
  walRecordHeaderBytes,
  walSegmentHeaderBytes,
  walSyncMarkerBytes,
} from '../../src/format/wal-format.js';
import { syncMarkerAlignBytes } from '../../src/limits.js';

export function put(key: string, value: string): EncodableOp {
  return { type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes: Buffer.byteLength(value), expiresAt: 0 };
}

/** A valid segment holding `count` puts (`k<seq>` = `v<seq>`) from seq `firstSeq` on, as the WAL actor writes them. */
export function segment(firstSeq: number, count: number): Buffer {
  const parts = [encodeSegmentHeader()];
  let at = walSegmentHeaderBytes;
  for (let seq = firstSeq; seq < firstSeq + count; seq++) {
    const ops = [put(`k${seq}`, `v${seq}`)];
    const record = Buffer.alloc(walRecordBytes(ops));
    encodeWalRecord(record, 0, seq, ops, at);
    parts.push(record);
    at += record.byteLength;
  }
  return Buffer.concat(parts);
}

/** Bytes a clean close appends after records ending at `recordsEnd`: a padded marker up to the alignment, then the aligned marker. */
export function closeMarkersBytes(recordsEnd: number): number {
  const markerAt =
    recordsEnd % syncMarkerAlignBytes === 0
      ? recordsEnd
      : Math.ceil((recordsEnd + walSyncMarkerBytes) / syncMarkerAlignBytes) * syncMarkerAlignBytes;
  return markerAt - recordsEnd + walSyncMarkerBytes;
}

/**
 * Where each record of a segment starts, sync markers included, read from the length fields alone
 * (no CRC checks), up to the zeros preallocated after the last one (a zero length field).
 */
function recordAndMarkerStarts(segment: Uint8Array): number[] {
  const bytes = Buffer.from(segment);
  const starts: number[] = [];
  for (
    let at = walSegmentHeaderBytes;
    at + 8 <= bytes.byteLength && bytes.readUInt32LE(at + 4) !== 0;
    at += walRecordHeaderBytes + bytes.readUInt32LE(at + 4)
  ) {
    starts.push(at);
  }
  return starts;
}

const isMarkerAt = (segment: Uint8Array, at: number) => Buffer.from(segment).readBigUInt64LE(at + 8) === 0n;

/** Where each record that carries writes starts (sync markers, seq 0, passed over). */
export function recordOffsets(segment: Uint8Array): number[] {
  return recordAndMarkerStarts(segment).filter((at) => !isMarkerAt(segment, at));
}

/** Where each sync marker starts. */
export function markerOffsets(segment: Uint8Array): number[] {
  return recordAndMarkerStarts(segment).filter((at) => isMarkerAt(segment, at));
}

/** Where the last record that carries writes ends (sync markers and zeros may follow). */
export function recordsEnd(segment: Uint8Array): number {
  const last = recordOffsets(segment).at(-1);
  return last === undefined ? walSegmentHeaderBytes : last + walRecordHeaderBytes + Buffer.from(segment).readUInt32LE(last + 4);
}
