/**
 * The bytes a leader ships for one or more consecutive committed records: one message of the
 * replication stream. Stated once here, with its encoder and its checked decoder.
 *
 *   frame header (24 bytes)
 *     0  magic        4 bytes  "DKVF"
 *     4  version      u32 LE   replicationFrameVersion (1)
 *     8  firstSeq     u64 LE   seq of the first record
 *    16  recordCount  u32 LE   1 .. ; the records hold seqs firstSeq .. firstSeq + recordCount - 1
 *    20  headerCrc    u32 LE   crc32c of bytes 0..20
 *   then recordCount WAL records back to back, in the layout of `wal-format.ts` (each with its own
 *   CRC), durableBytes 0: the field says how far a local segment was durable and means nothing here.
 *
 * A record is an effect (conditions, increments and keepTtl were resolved when the leader sequenced
 * it), so a follower that applies the records in seq order to the state the earlier ones made gets
 * the leader's state: the same keys, values, expiries and versions (a version is a record's seq).
 */
import { assert } from '../errors.js';
import type { EncodableOp, StoredValue } from '../types.js';
import { crc32c } from './crc32c.js';
import { encodeRangeSpec } from './range-spec.js';
import { checkWalRecord, encodeWalRecord, visitWalOps, walRecordBytes } from './wal-format.js';

const frameMagic = Buffer.from('DKVF', 'latin1');
export const replicationFrameVersion = 1;
const versionOffset = 4;
const firstSeqOffset = 8;
const recordCountOffset = 16;
const headerCrcOffset = 20;
export const replicationFrameHeaderBytes = 24;

/** A committed record as the leader has it: its seq and its resolved ops. */
export interface FrameRecord {
  readonly seq: number;
  readonly ops: readonly EncodableOp[];
}

/** Bytes the frame of these records takes. */
export function replicationFrameBytes(records: readonly FrameRecord[]): number {
  let bytes = replicationFrameHeaderBytes;
  for (const record of records) bytes += walRecordBytes(record.ops);
  return bytes;
}

/** Encodes records with consecutive seqs into one frame. */
export function encodeReplicationFrame(records: readonly FrameRecord[]): Buffer {
  assert(records.length > 0, 'a frame holds at least one record');
  const frame = Buffer.allocUnsafe(replicationFrameBytes(records));
  const firstSeq = records[0].seq;
  frameMagic.copy(frame, 0);
  frame.writeUInt32LE(replicationFrameVersion, versionOffset);
  writeUint64(frame, firstSeqOffset, firstSeq);
  frame.writeUInt32LE(records.length, recordCountOffset);
  frame.writeUInt32LE(crc32c(frame.subarray(0, headerCrcOffset)), headerCrcOffset);
  let at = replicationFrameHeaderBytes;
  records.forEach((record, index) => {
    assert(record.seq === firstSeq + index, 'a frame holds consecutive seqs');
    at = encodeWalRecord(frame, at, record.seq, record.ops, 0);
  });
  assert(at === frame.byteLength, 'a frame is exactly as long as it was measured');
  return frame;
}

export interface DecodedFrame {
  readonly firstSeq: number;
  /** `records[i]` holds the ops of seq `firstSeq + i`. */
  readonly records: EncodableOp[][];
}

export type FrameResult = { ok: true; frame: DecodedFrame } | { ok: false; reason: string };

/** The seqs a frame claims, from its header alone (checked): for ordering before the records are decoded. */
export function peekFrameSeqs(bytes: Uint8Array): { firstSeq: number; lastSeq: number } | { reason: string } {
  const frame = asBuffer(bytes);
  const reason = checkHeader(frame);
  if (reason !== undefined) return { reason };
  const firstSeq = readUint64(frame, firstSeqOffset);
  return { firstSeq, lastSeq: firstSeq + frame.readUInt32LE(recordCountOffset) - 1 };
}

/**
 * Checks a frame before trusting any of it (header CRC, every record's CRC and layout, consecutive
 * seqs, nothing after the last record), then decodes its ops with `fromBytes` making each value.
 */
export function decodeReplicationFrame(
  bytes: Uint8Array,
  fromBytes: (bytes: Buffer, start: number, end: number) => StoredValue,
): FrameResult {
  const frame = asBuffer(bytes);
  const reason = checkHeader(frame);
  if (reason !== undefined) return { ok: false, reason };
  const firstSeq = readUint64(frame, firstSeqOffset);
  const recordCount = frame.readUInt32LE(recordCountOffset);
  const records: EncodableOp[][] = [];
  let at = replicationFrameHeaderBytes;
  for (let index = 0; index < recordCount; index++) {
    const checked = checkWalRecord(frame, at);
    if (!checked.ok) return { ok: false, reason: `record ${index}: ${checked.reason}` };
    const { span } = checked;
    if (span.seq !== firstSeq + index) return { ok: false, reason: `record ${index} has seq ${span.seq}, expected ${firstSeq + index}` };
    const ops = decodeOps(frame, span, fromBytes);
    if (ops.length === 0) return { ok: false, reason: `record ${index} holds no ops` };
    records.push(ops);
    at += span.bytes;
  }
  if (at !== frame.byteLength) return { ok: false, reason: `${frame.byteLength - at} bytes after the last record` };
  return { ok: true, frame: { firstSeq, records } };
}

function decodeOps(
  frame: Buffer,
  span: Parameters<typeof visitWalOps>[1],
  fromBytes: (bytes: Buffer, start: number, end: number) => StoredValue,
): EncodableOp[] {
  const ops: EncodableOp[] = [];
  visitWalOps(frame, span, {
    put: (key, source, valueStart, valueEnd, expiresAt) => {
      const value = fromBytes(source, valueStart, valueEnd);
      ops.push({ type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes: valueEnd - valueStart, expiresAt });
    },
    delete: (key, expired) => ops.push({ type: 'delete', key, keyBytes: Buffer.byteLength(key), expired }),
    deleteRange: (range) => {
      const spec = encodeRangeSpec(range);
      ops.push({ type: 'deleteRange', range, spec, keyBytes: spec.byteLength });
    },
    expire: (key, expiresAt) => ops.push({ type: 'expire', key, keyBytes: Buffer.byteLength(key), expiresAt }),
  });
  return ops;
}

function checkHeader(frame: Buffer): string | undefined {
  if (frame.byteLength < replicationFrameHeaderBytes) return `frame of ${frame.byteLength} bytes, shorter than its header`;
  if (!frame.subarray(0, versionOffset).equals(frameMagic)) return 'not a replication frame (bad magic)';
  if (frame.readUInt32LE(headerCrcOffset) !== crc32c(frame.subarray(0, headerCrcOffset))) return 'frame header checksum mismatch';
  const version = frame.readUInt32LE(versionOffset);
  if (version !== replicationFrameVersion) return `frame version ${version}, this build reads ${replicationFrameVersion}`;
  const firstSeq = readUint64(frame, firstSeqOffset);
  const recordCount = frame.readUInt32LE(recordCountOffset);
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1 || recordCount < 1 || !Number.isSafeInteger(firstSeq + recordCount)) {
    return `frame seqs out of range (first ${firstSeq}, ${recordCount} records)`;
  }
  return undefined;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function writeUint64(target: Buffer, at: number, value: number): void {
  target.writeUInt32LE(value % 2 ** 32, at);
  target.writeUInt32LE(Math.floor(value / 2 ** 32), at + 4);
}

function readUint64(bytes: Buffer, at: number): number {
  return bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 2 ** 32;
}
