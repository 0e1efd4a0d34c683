/**
 * The write-ahead log's on-disk format: one place that states the layout, an encoder and a reader.
 *
 * A WAL segment file (`wal-<first seq, 20 digits>.wal`):
 *
 *   segment header (16 bytes)
 *     0  magic        8 bytes  "DKVWAL\r\n"
 *     8  version      u32 LE   walFormatVersion
 *    12  headerCrc    u32 LE   crc32c of bytes 0..12
 *   then records, back to back, until the end of the file:
 *     0  crc          u32 LE   crc32c of bytes 4 .. 16+payloadBytes (length, seq and payload)
 *     4  payloadBytes u32 LE   1 .. recordBytesMax
 *     8  seq          u64 LE   1, 2, 3, ...: each record one more than the one before, across segments
 *    16  payload:
 *          opCount u32 LE, then opCount ops:
 *          put:    type u8 = 1 | keyBytes u32 LE | key (UTF-8) | valueBytes u32 LE | value
 *          delete: type u8 = 2 | keyBytes u32 LE | key (UTF-8)
 *
 * A `put`, a `delete` and a whole `batch` are each one record, so a batch is atomic: its record is
 * either entirely valid (CRC) or not there. An all-zero header is never valid (seq starts at 1 and an
 * empty payload is refused), so a zero-filled tail reads as damage, not as records.
 */
import { recordBytesMax } from '../limits.js';
import { assert } from '../errors.js';
import { crc32c } from './crc32c.js';

export const walSegmentMagic = Buffer.from('DKVWAL\r\n', 'latin1');
export const walFormatVersion = 1;
export const walSegmentHeaderBytes = 16;
export const walRecordHeaderBytes = 16;
const opTypePut = 1;
const opTypeDelete = 2;
const opCountBytes = 4;
/** type u8 + keyBytes u32 */
const opHeaderBytes = 5;
const valueLengthBytes = 4;
/** The smallest record: a delete of the empty key. Bounds the seq range a reader may believe. */
const recordBytesMin = walRecordHeaderBytes + opCountBytes + opHeaderBytes;

/** An operation ready to encode: byte lengths were measured once, when the caller's input was checked. */
export type EncodableOp =
  | { type: 'put'; key: string; keyBytes: number; value: string | Uint8Array; valueBytes: number }
  | { type: 'delete'; key: string; keyBytes: number };

/** An operation as read back: the value is a view into the segment's bytes. */
export type DecodedOp = { type: 'put'; key: string; value: Buffer } | { type: 'delete'; key: string };

export interface WalRecord {
  seq: number;
  ops: DecodedOp[];
  /** Where the record starts in its file, and its total size including the header. */
  offset: number;
  bytes: number;
}

export function encodeSegmentHeader(): Buffer {
  const header = Buffer.alloc(walSegmentHeaderBytes);
  walSegmentMagic.copy(header, 0);
  header.writeUInt32LE(walFormatVersion, 8);
  header.writeUInt32LE(crc32c(header.subarray(0, 12)), 12);
  return header;
}

/** Bytes the record for these ops takes on disk, header included. */
export function walRecordBytes(ops: readonly EncodableOp[]): number {
  let bytes = walRecordHeaderBytes + opCountBytes;
  for (const op of ops) {
    bytes += opHeaderBytes + op.keyBytes + (op.type === 'put' ? valueLengthBytes + op.valueBytes : 0);
  }
  return bytes;
}

/** Encodes one record at `offset` of `target`, which must have room for `walRecordBytes(ops)`; returns the end. */
export function encodeWalRecord(target: Buffer, offset: number, seq: number, ops: readonly EncodableOp[]): number {
  assert(Number.isSafeInteger(seq) && seq >= 1, `seq ${seq} must be a positive safe integer`);
  let at = offset + walRecordHeaderBytes;
  at = target.writeUInt32LE(ops.length, at);
  for (const op of ops) {
    at = target.writeUInt8(op.type === 'put' ? opTypePut : opTypeDelete, at);
    at = target.writeUInt32LE(op.keyBytes, at);
    at += target.write(op.key, at, op.keyBytes, 'utf8');
    if (op.type === 'put') {
      at = target.writeUInt32LE(op.valueBytes, at);
      if (typeof op.value === 'string') at += target.write(op.value, at, op.valueBytes, 'utf8');
      else at += copyBytes(op.value, target, at);
    }
  }
  const payloadBytes = at - offset - walRecordHeaderBytes;
  assert(payloadBytes <= recordBytesMax, `record payload ${payloadBytes} bytes exceeds recordBytesMax`);
  target.writeUInt32LE(payloadBytes, offset + 4);
  target.writeBigUInt64LE(BigInt(seq), offset + 8);
  target.writeUInt32LE(crc32c(target.subarray(offset + 4, at)), offset);
  return at;
}

function copyBytes(source: Uint8Array, target: Buffer, at: number): number {
  target.set(source, at);
  return source.byteLength;
}

/** Why a position in a segment does not hold a valid record. */
export type RecordDamage = { offset: number; reason: string };

export type ParseResult = { ok: true; record: WalRecord } | { ok: false; reason: string };

/**
 * Parses the record at `offset`, checking everything before trusting any of it: the length is
 * bounded by what the file holds, the CRC is checked before the payload is decoded, and the payload
 * must decode to exactly its length.
 */
export function parseWalRecord(bytes: Buffer, offset: number): ParseResult {
  const remaining = bytes.byteLength - offset;
  if (remaining < walRecordHeaderBytes) return { ok: false, reason: `incomplete record header (${remaining} bytes)` };
  const payloadBytes = bytes.readUInt32LE(offset + 4);
  if (payloadBytes < opCountBytes || payloadBytes > recordBytesMax) {
    return { ok: false, reason: `record length ${payloadBytes} out of range` };
  }
  const end = offset + walRecordHeaderBytes + payloadBytes;
  if (end > bytes.byteLength) {
    return { ok: false, reason: `record of ${payloadBytes} payload bytes runs past the end of the file` };
  }
  const crcStored = bytes.readUInt32LE(offset);
  if (crc32c(bytes.subarray(offset + 4, end)) !== crcStored) return { ok: false, reason: 'checksum mismatch' };
  const seq = Number(bytes.readBigUInt64LE(offset + 8));
  if (!Number.isSafeInteger(seq) || seq < 1) return { ok: false, reason: `sequence number ${seq} out of range` };
  const ops = decodeOps(bytes, offset + walRecordHeaderBytes, end);
  if (ops === undefined) return { ok: false, reason: 'payload does not decode' };
  return { ok: true, record: { seq, ops, offset, bytes: end - offset } };
}

function decodeOps(bytes: Buffer, start: number, end: number): DecodedOp[] | undefined {
  const opCount = bytes.readUInt32LE(start);
  const ops: DecodedOp[] = [];
  let at = start + opCountBytes;
  for (let i = 0; i < opCount; i++) {
    if (at + opHeaderBytes > end) return undefined;
    const type = bytes[at];
    const keyBytes = bytes.readUInt32LE(at + 1);
    at += opHeaderBytes;
    if (at + keyBytes > end) return undefined;
    const key = bytes.toString('utf8', at, at + keyBytes);
    at += keyBytes;
    if (type === opTypeDelete) {
      ops.push({ type: 'delete', key });
    } else if (type === opTypePut) {
      if (at + valueLengthBytes > end) return undefined;
      const valueBytes = bytes.readUInt32LE(at);
      at += valueLengthBytes;
      if (at + valueBytes > end) return undefined;
      ops.push({ type: 'put', key, value: bytes.subarray(at, at + valueBytes) });
      at += valueBytes;
    } else {
      return undefined;
    }
  }
  return at === end ? ops : undefined;
}

/** Checks a segment header; returns a reason when it is not valid. */
export function checkSegmentHeader(bytes: Buffer): string | undefined {
  if (bytes.byteLength < walSegmentHeaderBytes) return `incomplete segment header (${bytes.byteLength} bytes)`;
  if (!bytes.subarray(0, 8).equals(walSegmentMagic)) return 'not a durable-kv WAL segment (bad magic)';
  if (crc32c(bytes.subarray(0, 12)) !== bytes.readUInt32LE(12)) return 'segment header checksum mismatch';
  const version = bytes.readUInt32LE(8);
  if (version !== walFormatVersion) return `unsupported WAL format version ${version}`;
  return undefined;
}

/**
 * Whether any valid record starts after `offset` with a seq that could follow `lastSeq`: this is what
 * tells real corruption (acknowledged records after the damage) from a torn tail (nothing after it).
 * The seq window makes a chance CRC match on garbage practically impossible.
 */
export function findValidRecordAfter(bytes: Buffer, offset: number, lastSeq: number): WalRecord | undefined {
  const seqMax = lastSeq + 1 + Math.ceil((bytes.byteLength - offset) / recordBytesMin);
  for (let at = offset + 1; at + recordBytesMin <= bytes.byteLength; at++) {
    const seq = readSeqCandidate(bytes, at);
    if (seq <= lastSeq || seq > seqMax) continue;
    const parsed = parseWalRecord(bytes, at);
    if (parsed.ok) return parsed.record;
  }
  return undefined;
}

function readSeqCandidate(bytes: Buffer, at: number): number {
  // Two 32-bit reads instead of a BigInt: this runs at every byte offset of a damaged tail.
  return bytes.readUInt32LE(at + 8) + bytes.readUInt32LE(at + 12) * 2 ** 32;
}

export interface SegmentScan {
  records: WalRecord[];
  /** End of the last valid record: where a torn tail would be cut. */
  validBytes: number;
  damage?: RecordDamage & { validRecordAfter: WalRecord | undefined };
}

/**
 * Reads every record of a segment whose header is valid. Stops at the first position that is not a
 * valid record or whose seq does not follow; reports it as `damage`, with whether a valid record
 * follows it in the same file. The caller decides torn tail vs. corruption.
 */
export function scanSegment(bytes: Buffer, seqBefore: number): SegmentScan {
  const records: WalRecord[] = [];
  let at = walSegmentHeaderBytes;
  let lastSeq = seqBefore;
  while (at < bytes.byteLength) {
    const parsed = parseWalRecord(bytes, at);
    if (!parsed.ok) {
      const validRecordAfter = findValidRecordAfter(bytes, at, lastSeq);
      return { records, validBytes: at, damage: { offset: at, reason: parsed.reason, validRecordAfter } };
    }
    if (parsed.record.seq !== lastSeq + 1) {
      // A record that checks out but is out of order was written and acknowledged: never a torn tail.
      const reason = `sequence number ${parsed.record.seq} where ${lastSeq + 1} was expected`;
      return { records, validBytes: at, damage: { offset: at, reason, validRecordAfter: parsed.record } };
    }
    records.push(parsed.record);
    lastSeq = parsed.record.seq;
    at += parsed.record.bytes;
  }
  return { records, validBytes: at };
}
