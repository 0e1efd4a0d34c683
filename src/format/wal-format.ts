/**
 * The write-ahead log's on-disk format: one place that states the layout, an encoder and a reader.
 *
 * A WAL segment file (`wal-<first seq, 20 digits>.wal`):
 *
 *   segment header (16 bytes)
 *     0  magic        8 bytes  "DKVWAL\r\n"
 *     8  version      u32 LE   walFormatVersion (2; a version-1 segment is refused like any bad header)
 *    12  headerCrc    u32 LE   crc32c of bytes 0..12
 *   then records, back to back:
 *     0  crc          u32 LE   crc32c of bytes 4 .. 20+payloadBytes (length, seq, durableBytes, payload)
 *     4  payloadBytes u32 LE   1 .. recordBytesMax
 *     8  seq          u64 LE   1, 2, 3, ...: each record one more than the one before, across segments
 *    16  durableBytes u32 LE   how far this segment was known durable (the writer's last completed
 *                              fdatasync) when the record was encoded; never more than the record's
 *                              own offset, or the record counts as damage
 *    20  payload:
 *          opCount u32 LE, then opCount ops:
 *          put:    type u8 = 1 | keyBytes u32 LE | key (UTF-8) | valueBytes u32 LE | value
 *          delete: type u8 = 2 | keyBytes u32 LE | key (UTF-8)
 *   then, under sync 'always', zeros to the end of the file: space preallocated so that most
 *   fdatasyncs overwrite allocated blocks instead of growing the file.
 *
 * A `put`, a `delete` and a whole `batch` are each one record, so a batch is atomic: its record is
 * either entirely valid (CRC) or not there. An all-zero header is never valid (seq starts at 1 and an
 * empty payload is refused), so zeros never read as records.
 *
 * Reading a segment (`walkSegment`), a position X that holds no valid record is:
 * - the clean end, if every byte from X to the end of the file is zero (preallocated space);
 * - otherwise damage, and `provenDurable` says whether anything proves X was durable: a valid
 *   record after X whose durableBytes exceeds X (a record written later found X already synced),
 *   or a valid record at X whose seq is out of order. Preallocated space is overwritten in place,
 *   so a power loss during an unfinished fdatasync can keep any subset of its sectors: records,
 *   a hole, then later records. Such a hole is never proven durable, because every record after it
 *   was encoded before anything at or past X was synced. A damaged last segment not proven
 *   durable is a torn tail (cut); anything else is corruption (see `isTornTail`).
 */
import { recordBytesMax } from '../limits.js';
import { assert } from '../errors.js';
import { crc32c, crc32cRange } from './crc32c.js';
import type { EncodableOp } from '../types.js';

export const walSegmentMagic = Buffer.from('DKVWAL\r\n', 'latin1');
export const walFormatVersion = 2;
export const walSegmentHeaderBytes = 16;
export const walRecordHeaderBytes = 20;
/** Largest value of a record's durableBytes field (u32): segments are bounded so offsets fit. */
export const walDurableBytesMax = 0xffff_ffff;
const opTypePut = 1;
const opTypeDelete = 2;
const opCountBytes = 4;
/** type u8 + keyBytes u32 */
const opHeaderBytes = 5;
const valueLengthBytes = 4;
/** The smallest record: a delete of the empty key. Bounds the seq range a reader may believe. */
const recordBytesMin = walRecordHeaderBytes + opCountBytes + opHeaderBytes;


/** An operation as read back: the value is a view into the segment's bytes. */
export type DecodedOp = { type: 'put'; key: string; value: Buffer } | { type: 'delete'; key: string };

export interface WalRecord {
  seq: number;
  ops: DecodedOp[];
  /** Where the record starts in its file, and its total size including the header. */
  offset: number;
  bytes: number;
  /** How far the segment was known durable when the record was encoded. */
  durableBytes: number;
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

/**
 * Encodes one record at `offset` of `target`, which must have room for `walRecordBytes(ops)`; returns
 * the end. `durableBytes` is how far the segment the record goes into is known durable: the caller
 * must never claim more (a reader would then call an ordinary power loss corruption).
 */
export function encodeWalRecord(target: Buffer, offset: number, seq: number, ops: readonly EncodableOp[], durableBytes: number): number {
  assert(Number.isSafeInteger(seq) && seq >= 1, `seq ${seq} must be a positive safe integer`);
  assert(Number.isInteger(durableBytes) && durableBytes >= 0 && durableBytes <= walDurableBytesMax, `durableBytes ${durableBytes} must fit a u32`);
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
  putUint32(target, offset + 16, durableBytes);
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
  /** The record's durableBytes field: never more than `offset` in a record that checks out. */
  durableBytes: number;
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
  // The writer knew at most the bytes before the record durable: a larger claim is not its record.
  const durableBytes = bytes.readUInt32LE(offset + 16);
  if (durableBytes > offset) return { ok: false, reason: `record claims ${durableBytes} durable bytes at offset ${offset}` };
  if (!opsFitExactly(bytes, offset + walRecordHeaderBytes, end)) return { ok: false, reason: 'payload does not decode' };
  return { ok: true, span: { seq, offset, bytes: end - offset, durableBytes } };
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
 * The first valid record after `offset` with a seq that could follow `lastSeq`, if any:
 * `findRecordsAfter` starts each run of records past damage with it. The seq window makes a chance
 * CRC match on garbage practically impossible.
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

/**
 * Whether every byte from `offset` to the end is zero: space preallocated and never written, the
 * clean end of a segment. Zeros can hide no record (an all-zero record header is invalid), and
 * lost records at a segment's end still show as a seq gap to the next segment.
 */
export function isZeroFrom(bytes: Buffer, offset: number): boolean {
  for (let at = offset; at < bytes.byteLength; at++) if (bytes[at] !== 0) return false;
  return true;
}

/** The valid records after a damaged position, and the most any of them knew durable. */
export interface RecordsAfter {
  first: RecordSpan | undefined;
  count: number;
  /** The largest durableBytes among them; 0 if there are none. */
  durableBytesMax: number;
}

/**
 * Every valid record after damage at `offset`, re-synchronising past further damage: runs of
 * back-to-back records, each run found by `findValidRecordAfter` with seqs above the last one seen.
 * The seqs only grow, so this ends; the zero tail is not searched.
 */
export function findRecordsAfter(bytes: Buffer, offset: number, lastSeq: number): RecordsAfter {
  const after: RecordsAfter = { first: undefined, count: 0, durableBytesMax: 0 };
  let seq = lastSeq;
  let at = offset;
  // `at - 1`: the search starts one byte past its argument, and the byte at `at` may start a record.
  for (let found = findValidRecordAfter(bytes, at, seq); found !== undefined; found = findValidRecordAfter(bytes, at - 1, seq)) {
    after.first ??= found;
    let span: RecordSpan = found;
    for (;;) {
      after.count++;
      after.durableBytesMax = Math.max(after.durableBytesMax, span.durableBytes);
      seq = span.seq;
      at = span.offset + span.bytes;
      const next = checkWalRecord(bytes, at);
      if (!next.ok || next.span.seq !== seq + 1) break;
      span = next.span;
    }
    if (isZeroFrom(bytes, at)) break;
  }
  return after;
}

export interface SegmentDamage extends RecordDamage {
  /** The first valid record after the damage (or the out-of-order record at it), if any. */
  validRecordAfter: RecordSpan | undefined;
  /** The largest durableBytes among the valid records after the damage; 0 if there are none. */
  durableBytesAfter: number;
  /**
   * Whether the damaged bytes are proven to have been durable, so that no power loss explains
   * them: a record written later claims them durable (durableBytesAfter > offset), or the
   * record at the damage checks out but is out of order (it was written whole).
   */
  provenDurable: boolean;
}

export interface SegmentWalk {
  /** Valid records read, and the seq of the last one (`seqBefore` if none). */
  records: number;
  lastSeq: number;
  /** End of the last valid record: the segment's clean end, or where a torn tail would be cut. */
  validBytes: number;
  damage?: SegmentDamage;
}

/**
 * Walks every record of a segment whose header is valid, handing each checked record to `onRecord`.
 * Stops at the first position that is not a valid record or whose seq does not follow. If only
 * zeros follow, that is the segment's clean end (preallocated space); otherwise it is `damage`,
 * with what the records after it prove. The caller decides: torn tail or corruption (`isTornTail`).
 */
export function walkSegment(bytes: Buffer, seqBefore: number, onRecord: (span: RecordSpan) => void): SegmentWalk {
  let at = walSegmentHeaderBytes;
  let lastSeq = seqBefore;
  let records = 0;
  while (at < bytes.byteLength) {
    const checked = checkWalRecord(bytes, at);
    if (!checked.ok) {
      if (isZeroFrom(bytes, at)) break;
      return { records, lastSeq, validBytes: at, damage: damageAt(bytes, at, lastSeq, checked.reason) };
    }
    if (checked.span.seq !== lastSeq + 1) {
      // A record that checks out but is out of order was written whole: never a torn tail.
      const reason = `sequence number ${checked.span.seq} where ${lastSeq + 1} was expected`;
      const span = checked.span;
      return { records, lastSeq, validBytes: at, damage: { offset: at, reason, validRecordAfter: span, durableBytesAfter: span.durableBytes, provenDurable: true } };
    }
    onRecord(checked.span);
    records++;
    lastSeq = checked.span.seq;
    at += checked.span.bytes;
  }
  return { records, lastSeq, validBytes: at };
}

function damageAt(bytes: Buffer, offset: number, lastSeq: number, reason: string): SegmentDamage {
  const after = findRecordsAfter(bytes, offset, lastSeq);
  const { first, durableBytesMax } = after;
  return { offset, reason, validRecordAfter: first, durableBytesAfter: durableBytesMax, provenDurable: durableBytesMax > offset };
}

/**
 * Torn tail or corruption? A torn tail is damage in the last segment that nothing proves durable:
 * a write whose fdatasync never completed, so it was never acknowledged, and neither was anything
 * after it (the fsync that acknowledged a later record would have made the damaged bytes durable
 * too). Rotation syncs a segment before the next one exists, so damage in any other segment is
 * corruption.
 */
export function isTornTail(damage: SegmentDamage, isLastSegment: boolean): boolean {
  return isLastSegment && !damage.provenDurable;
}

/** Why damage is corruption, for messages: what follows it. */
export function corruptionContext(damage: SegmentDamage, laterSegments: boolean): string {
  const record = damage.validRecordAfter;
  if (record === undefined) return laterSegments ? ' (later segments follow)' : '';
  const proof = damage.durableBytesAfter > damage.offset ? `, written when ${damage.durableBytesAfter} bytes were durable` : '';
  return ` (a valid record, seq ${record.seq}, follows at byte ${record.offset}${proof})`;
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
