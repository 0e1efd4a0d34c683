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
import { crc32c, crc32cRange } from './crc32c.js';

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
  at = putUint32(target, at, ops.length);
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    target[at++] = op.type === 'put' ? opTypePut : opTypeDelete;
    at = putUint32(target, at, op.keyBytes);
    at = putString(target, at, op.key, op.keyBytes);
    if (op.type === 'put') {
      at = putUint32(target, at, op.valueBytes);
      if (typeof op.value === 'string') {
        at = putString(target, at, op.value, op.valueBytes);
      } else {
        target.set(op.value, at);
        at += op.value.byteLength;
      }
    }
  }
  const payloadBytes = at - offset - walRecordHeaderBytes;
  assert(payloadBytes <= recordBytesMax, `record payload ${payloadBytes} bytes exceeds recordBytesMax`);
  putUint32(target, offset + 4, payloadBytes);
  // Two 32-bit halves: a BigInt per record costs more than the rest of the header.
  putUint32(target, offset + 8, seq % 2 ** 32);
  putUint32(target, offset + 12, Math.floor(seq / 2 ** 32));
  putUint32(target, offset, crc32cRange(target, offset + 4, at));
  return at;
}

/** Little-endian u32 by hand: `writeUInt32LE` checks its arguments on every call, and this is the hot path. */
function putUint32(target: Buffer, at: number, value: number): number {
  target[at] = value;
  target[at + 1] = value >>> 8;
  target[at + 2] = value >>> 16;
  target[at + 3] = value >>> 24;
  return at + 4;
}

/**
 * Writes `text`, whose UTF-8 size was measured as `bytes`. When that equals its length every code
 * unit is ASCII (anything else takes two or more UTF-8 bytes), and ASCII is the same in latin1,
 * which Node copies without UTF-8 transcoding: about half the cost for typical keys and values.
 */
function putString(target: Buffer, at: number, text: string, bytes: number): number {
  const written = target.write(text, at, bytes, bytes === text.length ? 'latin1' : 'utf8');
  assert(written === bytes, `wrote ${written} bytes of a string measured at ${bytes}`);
  return at + written;
}

/** Why a position in a segment does not hold a valid record. */
export type RecordDamage = { offset: number; reason: string };

/** Where a checked record sits in its file. */
export interface RecordSpan {
  seq: number;
  offset: number;
  bytes: number;
}

export type RecordCheck = { ok: true; span: RecordSpan } | { ok: false; reason: string };
export type ParseResult = { ok: true; record: WalRecord } | { ok: false; reason: string };

/** Receives a checked record's operations without copies: a put's value is `bytes[valueStart, valueEnd)`. */
export interface OpVisitor {
  put(key: string, bytes: Buffer, valueStart: number, valueEnd: number): void;
  delete(key: string): void;
}

/**
 * Checks the record at `offset` before trusting any of it: the length is bounded by what the file
 * holds, the CRC is checked before the payload is looked at, and the payload must walk to exactly
 * its length. Allocates nothing: recovery runs this for every record of every segment.
 */
export function checkWalRecord(bytes: Buffer, offset: number): RecordCheck {
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
  if (crc32cRange(bytes, offset + 4, end) !== bytes.readUInt32LE(offset)) return { ok: false, reason: 'checksum mismatch' };
  const seq = readSeq(bytes, offset + 8);
  if (!Number.isSafeInteger(seq) || seq < 1) return { ok: false, reason: `sequence number ${seq} out of range` };
  if (!opsFitExactly(bytes, offset + walRecordHeaderBytes, end)) return { ok: false, reason: 'payload does not decode' };
  return { ok: true, span: { seq, offset, bytes: end - offset } };
}

/** Hands the operations of a record that `checkWalRecord` accepted to `visitor`, in order. */
export function visitWalOps(bytes: Buffer, span: RecordSpan, visitor: OpVisitor): void {
  const start = span.offset + walRecordHeaderBytes;
  const opCount = bytes.readUInt32LE(start);
  let at = start + opCountBytes;
  for (let i = 0; i < opCount; i++) {
    const type = bytes[at];
    const keyStart = at + opHeaderBytes;
    const keyEnd = keyStart + bytes.readUInt32LE(at + 1);
    const key = bytes.toString('utf8', keyStart, keyEnd);
    if (type === opTypeDelete) {
      visitor.delete(key);
      at = keyEnd;
    } else {
      const valueStart = keyEnd + valueLengthBytes;
      const valueEnd = valueStart + bytes.readUInt32LE(keyEnd);
      visitor.put(key, bytes, valueStart, valueEnd);
      at = valueEnd;
    }
  }
}

/** Checks and decodes one record into objects: for dumps, tools and tests, not for recovery. */
export function parseWalRecord(bytes: Buffer, offset: number): ParseResult {
  const checked = checkWalRecord(bytes, offset);
  if (!checked.ok) return checked;
  const ops: DecodedOp[] = [];
  visitWalOps(bytes, checked.span, {
    put: (key, source, valueStart, valueEnd) => ops.push({ type: 'put', key, value: source.subarray(valueStart, valueEnd) }),
    delete: (key) => ops.push({ type: 'delete', key }),
  });
  return { ok: true, record: { ...checked.span, ops } };
}

function readSeq(bytes: Buffer, at: number): number {
  // Two 32-bit reads instead of a BigInt: this runs for every record and at every offset of a damaged tail.
  return bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 2 ** 32;
}

/** Whether the payload's ops, walked by their lengths, end exactly at `end` (and have known types). */
function opsFitExactly(bytes: Buffer, start: number, end: number): boolean {
  const opCount = bytes.readUInt32LE(start);
  let at = start + opCountBytes;
  for (let i = 0; i < opCount; i++) {
    if (at + opHeaderBytes > end) return false;
    const type = bytes[at];
    at += opHeaderBytes + bytes.readUInt32LE(at + 1);
    if (type === opTypePut) {
      if (at + valueLengthBytes > end) return false;
      at += valueLengthBytes + bytes.readUInt32LE(at);
    } else if (type !== opTypeDelete) {
      return false;
    }
    if (at > end) return false;
  }
  return at === end;
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
export function findValidRecordAfter(bytes: Buffer, offset: number, lastSeq: number): RecordSpan | undefined {
  const seqMax = lastSeq + 1 + Math.ceil((bytes.byteLength - offset) / recordBytesMin);
  for (let at = offset + 1; at + recordBytesMin <= bytes.byteLength; at++) {
    const seq = readSeq(bytes, at + 8);
    if (seq <= lastSeq || seq > seqMax) continue;
    const checked = checkWalRecord(bytes, at);
    if (checked.ok) return checked.span;
  }
  return undefined;
}

export interface SegmentWalk {
  /** Valid records read, and the seq of the last one (`seqBefore` if none). */
  records: number;
  lastSeq: number;
  /** End of the last valid record: where a torn tail would be cut. */
  validBytes: number;
  damage?: RecordDamage & { validRecordAfter: RecordSpan | undefined };
}

/**
 * Walks every record of a segment whose header is valid, handing each checked record to `onRecord`.
 * Stops at the first position that is not a valid record or whose seq does not follow, and reports
 * it as `damage`, with whether a valid record follows it in the same file. The caller decides: torn
 * tail or corruption.
 */
export function walkSegment(bytes: Buffer, seqBefore: number, onRecord: (span: RecordSpan) => void): SegmentWalk {
  let at = walSegmentHeaderBytes;
  let lastSeq = seqBefore;
  let records = 0;
  while (at < bytes.byteLength) {
    const checked = checkWalRecord(bytes, at);
    if (!checked.ok) {
      const validRecordAfter = findValidRecordAfter(bytes, at, lastSeq);
      return { records, lastSeq, validBytes: at, damage: { offset: at, reason: checked.reason, validRecordAfter } };
    }
    if (checked.span.seq !== lastSeq + 1) {
      // A record that checks out but is out of order was written and acknowledged: never a torn tail.
      const reason = `sequence number ${checked.span.seq} where ${lastSeq + 1} was expected`;
      return { records, lastSeq, validBytes: at, damage: { offset: at, reason, validRecordAfter: checked.span } };
    }
    onRecord(checked.span);
    records++;
    lastSeq = checked.span.seq;
    at += checked.span.bytes;
  }
  return { records, lastSeq, validBytes: at };
}

export interface SegmentScan extends Omit<SegmentWalk, 'records'> {
  records: WalRecord[];
}

/** `walkSegment`, decoding every record into objects: for dumps, tools and tests. */
export function scanSegment(bytes: Buffer, seqBefore: number): SegmentScan {
  const records: WalRecord[] = [];
  const walk = walkSegment(bytes, seqBefore, (span) => {
    const parsed = parseWalRecord(bytes, span.offset);
    assert(parsed.ok, 'a walked record parses');
    records.push(parsed.record);
  });
  return { ...walk, records };
}
