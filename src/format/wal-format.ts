/**
 * The write-ahead log's on-disk format: one place that states the layout, the encoder, and the check of one record.
 *
 * A WAL segment file (`wal-<first seq, 20 digits>.wal`):
 *
 *   segment header (16 bytes)
 *     0  magic        8 bytes  "DKVWAL\r\n"
 *     8  version      u32 LE   walFormatVersion (5; versions 2 to 4 are read too: 4 is 5 without
 *                              op types 4 to 6, 3 is 4 without deleteRange ops, 2 is 3 without sync
 *                              markers; version 1 is refused like any bad header)
 *    12  headerCrc    u32 LE   crc32c of bytes 0..12
 *   then records, back to back:
 *     0  crc          u32 LE   crc32c of bytes 4 .. 20+payloadBytes (length, seq, durableBytes, payload)
 *     4  payloadBytes u32 LE   1 .. recordBytesMax
 *     8  seq          u64 LE   1, 2, 3, ...: each record one more than the one before, across segments
 *                              (0: a sync marker, below)
 *    16  durableBytes u32 LE   how far this segment was known durable (the writer's last completed
 *                              fdatasync) when the record was encoded; never more than the record's
 *                              own offset, or the record counts as damage
 *    20  payload:
 *          opCount u32 LE, then opCount ops:
 *          put:         type u8 = 1 | keyBytes u32 LE | key (UTF-8) | valueBytes u32 LE | value
 *          delete:      type u8 = 2 | keyBytes u32 LE | key (UTF-8)
 *          deleteRange: type u8 = 3 | specBytes u32 LE | the range (format/range-spec.ts)   (version 4)
 *          putExpiring: type u8 = 4 | keyBytes u32 LE | key | valueBytes u32 LE | value | expiresAt u64 LE
 *          deleteExpired: type u8 = 5 | keyBytes u32 LE | key  (a delete by active expiry)
 *          expire:      type u8 = 6 | keyBytes u32 LE | key | expiresAt u64 LE (0: none)   (5: version 5)
 *        expiresAt is wall-clock epoch ms, absolute (a restart must not extend a life). A put (type 1)
 *        clears the key's expiry. Every op is an effect: conditions, increments and keepTtl were
 *        resolved when the write was sequenced, so replaying a record needs nothing but the state
 *        the records before it made. A key's version is the seq of the record that last wrote it.
 *   a sync marker is a record with seq 0 and no ops (opCount 0, then zero or more padding bytes): it
 *   carries no write, only its durableBytes, the proof that the segment was durable that far. The
 *   writer appends one after the final fdatasync of a clean close and after a periodic fdatasync
 *   under sync 'interval', when no record yet claims what that fdatasync made durable: without it,
 *   damage after the last record's claim reads as a torn tail even though those bytes were durable
 *   and acknowledged. A clean close's marker starts on a syncMarkerAlignBytes boundary, a padded
 *   marker filling the gap before it, so that damage to the block holding the last records cannot
 *   take their proof with it.
 *   then, under sync 'always', zeros to the end of the file: space preallocated so that most
 *   fdatasyncs overwrite allocated blocks instead of growing the file.
 *
 * A `put`, a `delete` and a whole `batch` are each one record, so a batch is atomic: its record is
 * either entirely valid (CRC) or not there. An all-zero header is never valid (seq starts at 1 and an
 * empty payload is refused), so zeros never read as records.
 *
 * Walking segments, and what a position that holds no valid record means, is `wal-reader.ts`;
 * whether damage is a torn tail or corruption is judged in `recovery/plan.ts`.
 */
import { recordBytesMax } from '../limits.js';
import { assert } from '../errors.js';
import { crc32c, crc32cRange } from './crc32c.js';
import type { EncodableOp, IntentOp, KeyRange } from '../types.js';
import { decodeRangeSpec } from './range-spec.js';

export const walSegmentMagic = Buffer.from('DKVWAL\r\n', 'latin1');
export const walFormatVersion = 5;
/** Segment versions a reader accepts: each differs from the next only in having fewer op types (see the layout), 2 also no sync markers. */
const walFormatVersionsRead: readonly number[] = [2, 3, 4, 5];
/** Byte offsets of the segment header's fields, as in the layout above. */
export const segmentMagicOffset = 0;
export const segmentVersionOffset = 8;
export const segmentHeaderCrcOffset = 12;
export const walSegmentHeaderBytes = 16;
/** Byte offsets of a record header's fields, from the record's start, as in the layout above. */
export const recordCrcOffset = 0;
export const recordPayloadBytesOffset = 4;
export const recordSeqOffset = 8;
export const recordDurableBytesOffset = 16;
export const walRecordHeaderBytes = 20;
/** Largest value of a record's durableBytes field (u32): segments are bounded so offsets fit. */
export const walDurableBytesMax = 0xffff_ffff;
const opTypePut = 1;
const opTypeDelete = 2;
const opTypeDeleteRange = 3;
const opTypePutExpiring = 4;
const opTypeDeleteExpired = 5;
const opTypeExpire = 6;
/** expiresAt: a u64 written as two u32 halves (epoch ms fit 53 bits). */
const expiresAtBytes = 8;
export const opCountBytes = 4;
/** type u8 + keyBytes u32 */
export const opKeyBytesOffset = 1;
export const opHeaderBytes = 5;
export const valueLengthBytes = 4;
/** The smallest record: a delete of the empty key. Bounds the seq range a reader may believe. */
export const walRecordBytesMin = walRecordHeaderBytes + opCountBytes + opHeaderBytes;
/** A sync marker without padding: a record header and an op count of zero. */
export const walSyncMarkerBytes = walRecordHeaderBytes + opCountBytes;

/**
 * The bytes of the sync markers a clean close appends at `offset` so that the last one starts on an
 * `alignBytes` boundary: a padded marker up to the boundary (none if `offset` is on one), then the
 * marker. Both claim `durableBytes`.
 */
export function encodeAlignedSyncMarker(offset: number, durableBytes: number, alignBytes: number): Buffer {
  const markerAt = offset % alignBytes === 0 ? offset : Math.ceil((offset + walSyncMarkerBytes) / alignBytes) * alignBytes;
  const buffer = Buffer.allocUnsafe(markerAt - offset + walSyncMarkerBytes);
  if (markerAt > offset) encodeSyncMarker(buffer, 0, durableBytes, markerAt - offset - walSyncMarkerBytes);
  encodeSyncMarker(buffer, markerAt - offset, durableBytes);
  return buffer;
}
/** The seq field of a sync marker; every record that carries writes has seq 1 or more. */
const syncMarkerSeq = 0;

/** An operation as read back: the value is a view into the segment's bytes. */
export type DecodedOp =
  /** `expiresAt`: 0 when none. */
  | { type: 'put'; key: string; value: Buffer; expiresAt: number }
  | { type: 'delete'; key: string; expired: boolean }
  | { type: 'deleteRange'; range: KeyRange }
  | { type: 'expire'; key: string; expiresAt: number };

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
  walSegmentMagic.copy(header, segmentMagicOffset);
  header.writeUInt32LE(walFormatVersion, segmentVersionOffset);
  header.writeUInt32LE(crc32c(header.subarray(0, segmentHeaderCrcOffset)), segmentHeaderCrcOffset);
  return header;
}

/** Bytes the record for these ops takes on disk, header included. */
export function walRecordBytes(ops: readonly EncodableOp[]): number {
  let bytes = walRecordHeaderBytes + opCountBytes;
  for (const op of ops) bytes += walOpBytes(op);
  return bytes;
}

/**
 * The most bytes the record of a write with these intent ops can take once resolved (a put that
 * keeps or sets an expiry, an increment's digits): for the mailbox's limits before it is resolved.
 */
export function walRecordBytesBound(ops: readonly IntentOp[]): number {
  let bytes = walRecordHeaderBytes + opCountBytes;
  for (const op of ops) {
    if (op.type === 'putKeepTtl') bytes += opHeaderBytes + op.keyBytes + valueLengthBytes + op.valueBytes + expiresAtBytes;
    else if (op.type === 'increment') bytes += opHeaderBytes + op.keyBytes + valueLengthBytes + incrementDigitsMax + expiresAtBytes;
    else if (op.type === 'expireExisting') bytes += opHeaderBytes + op.keyBytes + expiresAtBytes;
    else if (op.type === 'deleteIfExpired') bytes += opHeaderBytes + op.keyBytes;
    else bytes += walOpBytes(op);
  }
  return bytes;
}
/** "-9007199254740991": the longest value an increment writes. */
const incrementDigitsMax = 17;

/** Bytes one op takes in a record. */
export function walOpBytes(op: EncodableOp): number {
  switch (op.type) {
    case 'put':
      return opHeaderBytes + op.keyBytes + valueLengthBytes + op.valueBytes + (op.expiresAt === 0 ? 0 : expiresAtBytes);
    case 'expire':
      return opHeaderBytes + op.keyBytes + expiresAtBytes;
    default:
      return opHeaderBytes + op.keyBytes;
  }
}

/**
 * Encodes one record at `offset` of `target`, which must have room for `walRecordBytes(ops)`; returns
 * the end. `durableBytes` is how far the segment the record goes into is known durable: the caller
 * must never claim more (a reader would then call an ordinary power loss corruption).
 */
export function encodeWalRecord(target: Buffer, offset: number, seq: number, ops: readonly EncodableOp[], durableBytes: number): number {
  // Static messages on this path: a template would build its string for every record, failing or not.
  assert(Number.isSafeInteger(seq) && seq >= 1, 'a record seq is a positive safe integer');
  assert(Number.isInteger(durableBytes) && durableBytes >= 0 && durableBytes <= walDurableBytesMax, 'durableBytes fits a u32');
  let at = offset + walRecordHeaderBytes;
  at = putUint32(target, at, ops.length);
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (op.type === 'deleteRange') {
      target[at++] = opTypeDeleteRange;
      at = putUint32(target, at, op.keyBytes);
      at += op.spec.copy(target, at);
      continue;
    }
    target[at++] = opTypeOf(op);
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
      if (op.expiresAt !== 0) at = putUint64(target, at, op.expiresAt);
    } else if (op.type === 'expire') {
      at = putUint64(target, at, op.expiresAt);
    }
  }
  const payloadBytes = at - offset - walRecordHeaderBytes;
  assert(payloadBytes <= recordBytesMax, 'a record payload is at most recordBytesMax');
  putUint32(target, offset + recordPayloadBytesOffset, payloadBytes);
  // Two 32-bit halves: a BigInt per record costs more than the rest of the header.
  putUint32(target, offset + recordSeqOffset, seq % 2 ** 32);
  putUint32(target, offset + recordSeqOffset + 4, Math.floor(seq / 2 ** 32));
  putUint32(target, offset + recordDurableBytesOffset, durableBytes);
  putUint32(target, offset + recordCrcOffset, crc32cRange(target, offset + recordPayloadBytesOffset, at));
  return at;
}

/**
 * Encodes a sync marker at `offset` of `target` (room for `walSyncMarkerBytes`); returns the end.
 * `durableBytes` must be what a completed fdatasync of the segment covered, and no more than the
 * marker's own offset in its segment (the caller checks both).
 */
export function encodeSyncMarker(target: Buffer, offset: number, durableBytes: number, paddingBytes = 0): number {
  assert(
    Number.isInteger(durableBytes) && durableBytes >= 0 && durableBytes <= walDurableBytesMax,
    `durableBytes ${durableBytes} must fit a u32`,
  );
  assert(Number.isInteger(paddingBytes) && paddingBytes >= 0, `padding ${paddingBytes} must be a byte count`);
  const end = offset + walSyncMarkerBytes + paddingBytes;
  target.fill(0, offset + walSyncMarkerBytes, end);
  putUint32(target, offset + recordPayloadBytesOffset, opCountBytes + paddingBytes);
  putUint32(target, offset + recordSeqOffset, syncMarkerSeq);
  putUint32(target, offset + recordSeqOffset + 4, 0);
  putUint32(target, offset + recordDurableBytesOffset, durableBytes);
  putUint32(target, offset + walRecordHeaderBytes, 0);
  putUint32(target, offset + recordCrcOffset, crc32cRange(target, offset + recordPayloadBytesOffset, end));
  return end;
}

/** Whether a checked record is a sync marker (it carries no write). */
export function isSyncMarker(span: RecordSpan): boolean {
  return span.seq === syncMarkerSeq;
}

function opTypeOf(op: Exclude<EncodableOp, { type: 'deleteRange' }>): number {
  if (op.type === 'put') return op.expiresAt === 0 ? opTypePut : opTypePutExpiring;
  if (op.type === 'delete') return op.expired === true ? opTypeDeleteExpired : opTypeDelete;
  return opTypeExpire;
}

/** A non-negative safe integer as a little-endian u64, in two u32 halves. */
function putUint64(target: Buffer, at: number, value: number): number {
  assert(Number.isSafeInteger(value) && value >= 0, 'a u64 field holds a non-negative safe integer');
  putUint32(target, at, value % 2 ** 32);
  return putUint32(target, at + 4, Math.floor(value / 2 ** 32));
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
  assert(written === bytes, 'a string writes as many bytes as it was measured at');
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
  /** `expiresAt` 0: none. `seq`: the record's, the version the key gets. */
  put(key: string, bytes: Buffer, valueStart: number, valueEnd: number, expiresAt: number, seq: number): void;
  delete(key: string, expired: boolean): void;
  deleteRange(range: KeyRange): void;
  expire(key: string, expiresAt: number, seq: number): void;
}

/**
 * Checks the record at `offset` before trusting any of it: the length is bounded by what the file
 * holds, the CRC is checked before the payload is looked at, and the payload must walk to exactly
 * its length. Allocates nothing: recovery runs this for every record of every segment.
 */
export function checkWalRecord(bytes: Buffer, offset: number): RecordCheck {
  const remaining = bytes.byteLength - offset;
  if (remaining < walRecordHeaderBytes) return { ok: false, reason: `incomplete record header (${remaining} bytes)` };
  const payloadBytes = bytes.readUInt32LE(offset + recordPayloadBytesOffset);
  if (payloadBytes < opCountBytes || payloadBytes > recordBytesMax) {
    return { ok: false, reason: `record length ${payloadBytes} out of range` };
  }
  const end = offset + walRecordHeaderBytes + payloadBytes;
  if (end > bytes.byteLength) {
    return { ok: false, reason: `record of ${payloadBytes} payload bytes runs past the end of the file` };
  }
  const crc = crc32cRange(bytes, offset + recordPayloadBytesOffset, end);
  if (crc !== bytes.readUInt32LE(offset + recordCrcOffset)) return { ok: false, reason: 'checksum mismatch' };
  const seq = readRecordSeq(bytes, offset);
  const marker = seq === syncMarkerSeq;
  if (!marker && (!Number.isSafeInteger(seq) || seq < 1)) return { ok: false, reason: `sequence number ${seq} out of range` };
  // The writer knew at most the bytes before the record durable: a larger claim is not its record.
  const durableBytes = bytes.readUInt32LE(offset + recordDurableBytesOffset);
  if (durableBytes > offset) return { ok: false, reason: `record claims ${durableBytes} durable bytes at offset ${offset}` };
  if (marker) {
    // No ops; the rest of its payload is padding (see the layout): checked by the CRC, never read.
    if (bytes.readUInt32LE(offset + walRecordHeaderBytes) !== 0) return { ok: false, reason: 'sync marker with ops' };
  } else if (!opsFitExactly(bytes, offset + walRecordHeaderBytes, end)) {
    return { ok: false, reason: 'payload does not decode' };
  }
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
    const keyEnd = keyStart + bytes.readUInt32LE(at + opKeyBytesOffset);
    if (type === opTypeDeleteRange) {
      visitor.deleteRange(decodeRangeSpec(bytes, keyStart, keyEnd) as KeyRange);
      at = keyEnd;
      continue;
    }
    const key = bytes.toString('utf8', keyStart, keyEnd);
    if (type === opTypeDelete || type === opTypeDeleteExpired) {
      visitor.delete(key, type === opTypeDeleteExpired);
      at = keyEnd;
    } else if (type === opTypeExpire) {
      visitor.expire(key, readUint64(bytes, keyEnd), span.seq);
      at = keyEnd + expiresAtBytes;
    } else {
      const valueStart = keyEnd + valueLengthBytes;
      const valueEnd = valueStart + bytes.readUInt32LE(keyEnd);
      const expiring = type === opTypePutExpiring;
      visitor.put(key, bytes, valueStart, valueEnd, expiring ? readUint64(bytes, valueEnd) : 0, span.seq);
      at = expiring ? valueEnd + expiresAtBytes : valueEnd;
    }
  }
}

/** Checks and decodes one record into objects: for dumps, tools and tests, not for recovery. */
export function parseWalRecord(bytes: Buffer, offset: number): ParseResult {
  const checked = checkWalRecord(bytes, offset);
  if (!checked.ok) return checked;
  const ops: DecodedOp[] = [];
  visitWalOps(bytes, checked.span, {
    put: (key, source, valueStart, valueEnd, expiresAt) =>
      ops.push({ type: 'put', key, value: source.subarray(valueStart, valueEnd), expiresAt }),
    delete: (key, expired) => ops.push({ type: 'delete', key, expired }),
    deleteRange: (range) => ops.push({ type: 'deleteRange', range }),
    expire: (key, expiresAt) => ops.push({ type: 'expire', key, expiresAt }),
  });
  return { ok: true, record: { ...checked.span, ops } };
}

/** A u64 written by `putUint64`. */
function readUint64(bytes: Buffer, at: number): number {
  return bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 2 ** 32;
}

/** The seq field of the record header at `offset`, unchecked. */
export function readRecordSeq(bytes: Buffer, offset: number): number {
  // Two 32-bit reads instead of a BigInt: this runs for every record and at every offset of a damaged tail.
  const at = offset + recordSeqOffset;
  return bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 2 ** 32;
}

/** Whether the payload's ops, walked by their lengths, end exactly at `end` (and have known types). */
function opsFitExactly(bytes: Buffer, start: number, end: number): boolean {
  const opCount = bytes.readUInt32LE(start);
  let at = start + opCountBytes;
  for (let i = 0; i < opCount; i++) {
    if (at + opHeaderBytes > end) return false;
    const type = bytes[at];
    const keyStart = at + opHeaderBytes;
    at = keyStart + bytes.readUInt32LE(at + opKeyBytesOffset);
    if (type === opTypePut || type === opTypePutExpiring) {
      if (at + valueLengthBytes > end) return false;
      at += valueLengthBytes + bytes.readUInt32LE(at);
      if (type === opTypePutExpiring) {
        at += expiresAtBytes;
        if (at > end || !Number.isSafeInteger(readUint64(bytes, at - expiresAtBytes))) return false;
      }
    } else if (type === opTypeExpire) {
      at += expiresAtBytes;
      if (at > end || !Number.isSafeInteger(readUint64(bytes, at - expiresAtBytes))) return false;
    } else if (type === opTypeDeleteRange) {
      if (at > end || decodeRangeSpec(bytes, keyStart, at) === undefined) return false;
    } else if (type !== opTypeDelete && type !== opTypeDeleteExpired) {
      return false;
    }
    if (at > end) return false;
  }
  return at === end;
}

/** The version field of a segment header that `checkSegmentHeader` accepted. */
export function segmentFormatVersion(header: Buffer): number {
  return header.readUInt32LE(segmentVersionOffset);
}

/** Checks a segment header; returns a reason when it is not valid. */
export function checkSegmentHeader(bytes: Buffer): string | undefined {
  if (bytes.byteLength < walSegmentHeaderBytes) return `incomplete segment header (${bytes.byteLength} bytes)`;
  const magic = bytes.subarray(segmentMagicOffset, segmentMagicOffset + walSegmentMagic.byteLength);
  if (!magic.equals(walSegmentMagic)) return 'not a durable-kv WAL segment (bad magic)';
  const crc = crc32c(bytes.subarray(0, segmentHeaderCrcOffset));
  if (crc !== bytes.readUInt32LE(segmentHeaderCrcOffset)) return 'segment header checksum mismatch';
  const version = bytes.readUInt32LE(segmentVersionOffset);
  if (!walFormatVersionsRead.includes(version)) {
    return `unsupported WAL format version ${version} (this durable-kv reads versions ${walFormatVersionsRead.join(', ')})`;
  }
  return undefined;
}
