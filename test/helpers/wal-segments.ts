import type { EncodableOp } from '../../src/types.js';
import {
  encodeSegmentHeader,
  encodeWalRecord,
  walRecordBytes,
  walSegmentHeaderBytes,
  walSyncMarkerBytes,
} from '../../src/format/wal-format.js';
import { syncMarkerAlignBytes } from '../../src/limits.js';

export function put(key: string, value: string): EncodableOp {
  return { type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes: Buffer.byteLength(value) };
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
