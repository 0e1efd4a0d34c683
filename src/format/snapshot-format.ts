/**
 * The snapshot file's on-disk format: the layout, and the encoder. `snapshot-reader.ts` reads a
 * file and checks every byte of it; `snapshot-salvage.ts` keeps what is intact in a damaged one.
 *
 * A snapshot file (`snap-<seq, 20 digits>.snap`) holds the whole map as of `seq`:
 *
 *   header (32 bytes)
 *     0  magic        8 bytes  "DKVSNAP\n"
 *     8  version      u32 LE   snapshotFormatVersion (3; 2 and 1 are still read: 2 has entries
 *                              without version and expiry, each entry's version is then the file's
 *                              seq; 1 also has no index and a 16-byte end block)
 *    12  reserved     u32 LE   0
 *    16  seq          u64 LE   the last WAL record this snapshot includes
 *    24  headerCrc    u32 LE   crc32c of bytes 0..24
 *    28  reserved     u32 LE   0
 *   then blocks, back to back: every entries block, then the index blocks, then the end block
 *     0  crc          u32 LE   crc32c of bytes 4 .. 12+payloadBytes
 *     4  payloadBytes u32 LE
 *     8  kind         u32 LE   1 = entries, 2 = end, 3 = index
 *    12  payload
 *          entries: entryCount u32 LE, then entries:
 *                   keyBytes u32 | valueBytes u32 | version u64 | expiresAt u64 | key | value
 *                   (version: the seq that last wrote the key; expiresAt: epoch ms, 0 for none;
 *                   version 2 and 1: keyBytes u32 | valueBytes u32 | key | value)
 *          index:   recordCount u32 LE, then one record per entries block, in file order:
 *                   offset u64 | entryCount u32 | firstKeyBytes u32 | lastKeyBytes u32 | firstKey | lastKey
 *          end:     totalEntries u64 | seq u64 | indexOffset u64 | entriesBlocks u64
 *                   (must be the last bytes of the file; version 1: the first two fields only)
 *
 * The damage bound: an entries block holds at most `snapshotBlockBytes` (default 256 KiB) of
 * entries, or one entry alone when that entry is larger. Every block has its own CRC, so one
 * damaged byte costs the entries of one block and nothing else; the index, a second copy of each
 * block's place, entry count and first and last key, says exactly what that block held. Damage in
 * the header, the index or the end block costs no entry at all (see `snapshot-salvage.ts`).
 *
 * A snapshot is written to a temporary file, fsynced, read back, renamed into place and the
 * directory fsynced, so a `.snap` is never torn: any failed check in one is corruption.
 */
import { assert, invariantBroken } from '../errors.js';
import { crc32c } from './crc32c.js';
import type { StoredEntry, StoredValue } from '../types.js';

export const snapshotMagic = Buffer.from('DKVSNAP\n', 'latin1');
export const snapshotFormatVersion = 3;
/** Version 2: entries without version and expiry. */
export const snapshotFormatVersionUnversioned = 2;
/** Version 1: no index blocks, and an end block of `totalEntries | seq`. */
export const snapshotFormatVersionUnindexed = 1;
export const snapshotHeaderBytes = 32;
export const snapshotHeaderSeqOffset = 16;
const snapshotHeaderCrcOffset = 24;
const snapshotHeaderReservedOffset = 28;

export const blockHeaderBytes = 12;
export const blockCrcOffset = 0;
export const blockPayloadBytesOffset = 4;
export const blockKindOffset = 8;
export const blockKindEntries = 1;
export const blockKindEnd = 2;
export const blockKindIndex = 3;

/** An entry's header: keyBytes, valueBytes, version, expiresAt (8 bytes: the first two only, before version 3). */
export const entryHeaderBytes = 24;
const entryHeaderBytesUnversioned = 8;
const entryVersionOffset = 8;
const entryExpiresAtOffset = 16;

/** How a file's entries are laid out: by its version, and the version its entries get when they carry none. */
export interface EntryFormat {
  readonly headerBytes: number;
  readonly versioned: boolean;
  /** The file's seq: the version of every entry of a file before version 3. */
  readonly seq: number;
}

export function entryFormatFor(formatVersion: number, seq: number): EntryFormat {
  const versioned = formatVersion >= snapshotFormatVersion;
  return { headerBytes: versioned ? entryHeaderBytes : entryHeaderBytesUnversioned, versioned, seq };
}
export const indexRecordHeaderBytes = 20;
export const endPayloadBytes = 32;
export const endPayloadBytesUnindexed = 16;

export function encodeSnapshotHeader(seq: number, version = snapshotFormatVersion): Buffer {
  const header = Buffer.alloc(snapshotHeaderBytes);
  snapshotMagic.copy(header, 0);
  header.writeUInt32LE(version, 8);
  header.writeBigUInt64LE(BigInt(seq), snapshotHeaderSeqOffset);
  header.writeUInt32LE(crc32c(header.subarray(0, snapshotHeaderCrcOffset)), snapshotHeaderCrcOffset);
  return header;
}

/** What is wrong with a snapshot header, or undefined; `version` is 1 or 2 when it is right. */
export function checkSnapshotHeader(header: Buffer): string | undefined {
  if (header.byteLength < snapshotHeaderBytes) return `incomplete snapshot header (${header.byteLength} bytes)`;
  if (!header.subarray(0, 8).equals(snapshotMagic)) return 'not a durable-kv snapshot (bad magic)';
  if (crc32c(header.subarray(0, snapshotHeaderCrcOffset)) !== header.readUInt32LE(snapshotHeaderCrcOffset)) {
    return 'snapshot header checksum mismatch';
  }
  // The CRC stops at byte 24: the reserved word after it is checked here, so no header byte goes unchecked.
  if (header.readUInt32LE(snapshotHeaderReservedOffset) !== 0) return 'snapshot header reserved bytes are not zero';
  const version = header.readUInt32LE(8);
  if (version < snapshotFormatVersionUnindexed || version > snapshotFormatVersion) {
    return `unsupported snapshot format version ${version} (this durable-kv reads ${snapshotFormatVersionUnindexed} to ${snapshotFormatVersion})`;
  }
  return undefined;
}

/** One entries block, as the index records it. */
export interface BlockIndexRecord {
  offset: number;
  entries: number;
  firstKey: Buffer;
  lastKey: Buffer;
}

/** The most bytes an entry can take, in any format version: UTF-8 needs at most 3 bytes per UTF-16 code unit. */
function entryBytesBound(key: string, value: StoredValue): number {
  return entryHeaderBytes + key.length * 3 + (typeof value === 'string' ? value.length * 3 : value.byteLength);
}

/**
 * Encodes a snapshot file part by part, straight into one reused block buffer: an entry is
 * measured by the write itself, never by a separate `Buffer.byteLength` pass (half the cost of a
 * snapshot was measuring each string twice). Keeps the file offset, so it can write the index.
 */
export class SnapshotEncoder {
  readonly #seq: number;
  readonly #capacity: number;
  readonly #index: BlockIndexRecord[] = [];
  #block: Buffer;
  /** The buffer of the block sealed last, which the caller may still be writing: the next block is encoded into the other one. */
  #spare: Buffer | undefined;
  #at = blockHeaderBytes + 4;
  #count = 0;
  #firstKey: [number, number] = [0, 0];
  #lastKey: [number, number] = [0, 0];
  #offset = 0;
  #totalEntries = 0;

  readonly #format: EntryFormat;

  /** `formatVersion` 2 writes the previous format (for compatibility tests). */
  constructor(seq: number, blockBytes: number, formatVersion = snapshotFormatVersion) {
    assert(Number.isSafeInteger(blockBytes) && blockBytes > 0, `snapshot block size ${blockBytes}`);
    assert(
      formatVersion === snapshotFormatVersion || formatVersion === snapshotFormatVersionUnversioned,
      `writes version ${formatVersion}`,
    );
    this.#seq = seq;
    this.#format = entryFormatFor(formatVersion, seq);
    this.#capacity = blockHeaderBytes + 4 + blockBytes;
    this.#block = Buffer.allocUnsafe(this.#capacity);
  }

  get totalEntries(): number {
    return this.#totalEntries;
  }

  /** The file's first bytes. */
  header(): Buffer {
    assert(this.#offset === 0, 'the header comes first');
    return this.#counted(
      encodeSnapshotHeader(this.#seq, this.#format.versioned ? snapshotFormatVersion : snapshotFormatVersionUnversioned),
    );
  }

  /**
   * Adds an entry. Returns the block it filled, sealed, when the entry did not fit in it (the entry
   * then starts the next block). The block is a view of one of the encoder's two buffers, valid
   * until the next block is sealed: write it out before adding more (no copy of each block).
   */
  add(key: string, entry: StoredEntry): Buffer | undefined {
    assert(this.#offset > 0, 'the header is written before entries');
    const { value, version, expiresAt } = entry;
    // Per entry: the messages are built only when a check fails.
    if (!(Number.isSafeInteger(version) && version >= 1 && version <= this.#seq))
      invariantBroken(`entry version ${version} in a snapshot at ${this.#seq}`);
    if (!(Number.isSafeInteger(expiresAt) && expiresAt >= 0)) invariantBroken(`entry expiry ${expiresAt}`);
    let sealed: Buffer | undefined;
    const bound = entryBytesBound(key, value);
    // Against the capacity, not the buffer: a buffer grown for one large entry must not go on to
    // take more entries, or a block would grow far past the bound one damaged byte may cost.
    if (this.#at + bound > this.#capacity && this.#count > 0) sealed = this.#seal();
    if (this.#at + bound > this.#block.byteLength) {
      this.#block = Buffer.allocUnsafe(this.#at + bound); // one entry larger than a block: a block of its own
    }
    const block = this.#block;
    const keyAt = this.#at + this.#format.headerBytes;
    const keyBytes = block.write(key, keyAt, 'utf8');
    const valueAt = keyAt + keyBytes;
    const valueBytes = typeof value === 'string' ? block.write(value, valueAt, 'utf8') : copyInto(value, block, valueAt);
    block.writeUInt32LE(keyBytes, this.#at);
    block.writeUInt32LE(valueBytes, this.#at + 4);
    if (this.#format.versioned) {
      writeUint64(block, this.#at + entryVersionOffset, version);
      writeUint64(block, this.#at + entryExpiresAtOffset, expiresAt);
    }
    if (this.#count === 0) this.#firstKey = [keyAt, keyBytes];
    this.#lastKey = [keyAt, keyBytes];
    this.#at = valueAt + valueBytes;
    this.#count++;
    this.#totalEntries++;
    return sealed;
  }

  /** Seals the current entries block now (a view, as `add` returns): for tools that choose the blocks. */
  cut(): Buffer {
    assert(this.#count > 0, 'an entries block holds at least one entry');
    return this.#seal();
  }

  /** The file's last parts: the last entries block, the index and the end block (fresh buffers). */
  finish(): Buffer[] {
    const parts: Buffer[] = [];
    if (this.#count > 0) parts.push(Buffer.from(this.#seal()));
    const indexOffset = this.#offset;
    for (const block of encodeIndexBlocks(this.#index, this.#capacity)) parts.push(this.#counted(block));
    parts.push(
      this.#counted(encodeEndBlock({ totalEntries: this.#totalEntries, seq: this.#seq, indexOffset, entriesBlocks: this.#index.length })),
    );
    return parts;
  }

  #seal(): Buffer {
    const block = this.#block;
    block.writeUInt32LE(this.#count, blockHeaderBytes);
    const [firstAt, firstBytes] = this.#firstKey;
    const [lastAt, lastBytes] = this.#lastKey;
    this.#index.push({
      offset: this.#offset,
      entries: this.#count,
      firstKey: Buffer.from(block.subarray(firstAt, firstAt + firstBytes)),
      lastKey: Buffer.from(block.subarray(lastAt, lastAt + lastBytes)),
    });
    const sealed = this.#counted(sealBlock(block.subarray(0, this.#at), blockKindEntries));
    // An oversized buffer (one large entry) is not kept: the next block gets one of the usual size.
    const next = this.#spare ?? Buffer.allocUnsafe(this.#capacity);
    this.#spare = block.byteLength > this.#capacity ? undefined : block;
    this.#block = next;
    this.#at = blockHeaderBytes + 4;
    this.#count = 0;
    return sealed;
  }

  #counted(part: Buffer): Buffer {
    this.#offset += part.byteLength;
    return part;
  }
}

/** The index records, in blocks of at most `blockCapacity` bytes (one record alone may pass it). */
function encodeIndexBlocks(records: readonly BlockIndexRecord[], blockCapacity: number): Buffer[] {
  const blocks: Buffer[] = [];
  let pending: BlockIndexRecord[] = [];
  let pendingBytes = blockHeaderBytes + 4;
  const flush = () => {
    blocks.push(encodeIndexBlock(pending));
    pending = [];
    pendingBytes = blockHeaderBytes + 4;
  };
  for (const record of records) {
    const recordBytes = indexRecordHeaderBytes + record.firstKey.byteLength + record.lastKey.byteLength;
    if (pending.length > 0 && pendingBytes + recordBytes > blockCapacity) flush();
    pending.push(record);
    pendingBytes += recordBytes;
  }
  if (pending.length > 0) flush();
  return blocks;
}

export function encodeIndexBlock(records: readonly BlockIndexRecord[]): Buffer {
  let bytes = blockHeaderBytes + 4;
  for (const record of records) bytes += indexRecordHeaderBytes + record.firstKey.byteLength + record.lastKey.byteLength;
  const block = Buffer.alloc(bytes);
  block.writeUInt32LE(records.length, blockHeaderBytes);
  let at = blockHeaderBytes + 4;
  for (const { offset, entries, firstKey, lastKey } of records) {
    block.writeBigUInt64LE(BigInt(offset), at);
    block.writeUInt32LE(entries, at + 8);
    block.writeUInt32LE(firstKey.byteLength, at + 12);
    block.writeUInt32LE(lastKey.byteLength, at + 16);
    at += indexRecordHeaderBytes;
    at += firstKey.copy(block, at);
    at += lastKey.copy(block, at);
  }
  return sealBlock(block, blockKindIndex);
}

export interface SnapshotEnd {
  totalEntries: number;
  seq: number;
  /** Version 2 only. */
  indexOffset?: number;
  entriesBlocks?: number;
}

export function encodeEndBlock(end: SnapshotEnd): Buffer {
  const indexed = end.indexOffset !== undefined;
  const block = Buffer.alloc(blockHeaderBytes + (indexed ? endPayloadBytes : endPayloadBytesUnindexed));
  block.writeBigUInt64LE(BigInt(end.totalEntries), blockHeaderBytes);
  block.writeBigUInt64LE(BigInt(end.seq), blockHeaderBytes + 8);
  if (indexed) {
    block.writeBigUInt64LE(BigInt(end.indexOffset ?? 0), blockHeaderBytes + 16);
    block.writeBigUInt64LE(BigInt(end.entriesBlocks ?? 0), blockHeaderBytes + 24);
  }
  return sealBlock(block, blockKindEnd);
}

export function decodeEndPayload(payload: Buffer): SnapshotEnd | undefined {
  if (payload.byteLength !== endPayloadBytes && payload.byteLength !== endPayloadBytesUnindexed) return undefined;
  const end: SnapshotEnd = { totalEntries: Number(payload.readBigUInt64LE(0)), seq: Number(payload.readBigUInt64LE(8)) };
  if (payload.byteLength === endPayloadBytes) {
    end.indexOffset = Number(payload.readBigUInt64LE(16));
    end.entriesBlocks = Number(payload.readBigUInt64LE(24));
  }
  return end;
}

/** An index block's records, or undefined when its payload does not decode exactly. */
export function decodeIndexPayload(payload: Buffer): BlockIndexRecord[] | undefined {
  if (payload.byteLength < 4) return undefined;
  const count = payload.readUInt32LE(0);
  const records: BlockIndexRecord[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + indexRecordHeaderBytes > payload.byteLength) return undefined;
    const offset = Number(payload.readBigUInt64LE(at));
    const entries = payload.readUInt32LE(at + 8);
    const firstKeyAt = at + indexRecordHeaderBytes;
    const lastKeyAt = firstKeyAt + payload.readUInt32LE(at + 12);
    at = lastKeyAt + payload.readUInt32LE(at + 16);
    if (at > payload.byteLength) return undefined;
    records.push({ offset, entries, firstKey: payload.subarray(firstKeyAt, lastKeyAt), lastKey: payload.subarray(lastKeyAt, at) });
  }
  return at === payload.byteLength ? records : undefined;
}

/**
 * Walks an entries payload by its lengths. Returns where the first and last keys are, or undefined
 * unless the entries end exactly at the end of the payload (an empty block has no keys).
 */
export interface EntriesLayout {
  count: number;
  firstKey: Buffer;
  lastKey: Buffer;
  /** Whether any entry has an expiry. */
  expiring: boolean;
  /**
   * Whether the keys strictly increase in UTF-8 byte order. Snapshots have been written in key
   * order since format 3, but format 1 and 2 files (and what a repair salvaged from one) hold them
   * in the order the map had them: nothing that relies on order may trust a block without this.
   */
  ascending: boolean;
}

export function entriesLayout(payload: Buffer, format: EntryFormat): EntriesLayout | undefined {
  const payloadBytes = payload.byteLength;
  if (payloadBytes < 4) return undefined;
  const count = readUint32(payload, 0);
  const { headerBytes, versioned, seq } = format;
  // Offsets, not views: a subarray per entry cost more than the rest of this walk (it runs on every
  // block of every snapshot an open loads).
  let at = 4;
  let firstKeyStart = 0;
  let firstKeyEnd = 0;
  let lastKeyStart = 0;
  let lastKeyEnd = 0;
  let expiring = false;
  let ascending = true;
  for (let i = 0; i < count; i++) {
    if (at + headerBytes > payloadBytes) return undefined;
    if (versioned) {
      if (!plausibleEntry(payload, at, seq)) return undefined;
      if (!expiring && readUint64(payload, at + entryExpiresAtOffset) !== 0) expiring = true;
    }
    const keyStart = at + headerBytes;
    const keyEnd = keyStart + readUint32(payload, at);
    at = keyEnd + readUint32(payload, at + 4);
    if (at > payloadBytes) return undefined;
    if (ascending && i > 0) ascending = compareBytes(payload, lastKeyStart, lastKeyEnd, keyStart, keyEnd) < 0;
    lastKeyStart = keyStart;
    lastKeyEnd = keyEnd;
    if (i === 0) {
      firstKeyStart = keyStart;
      firstKeyEnd = keyEnd;
    }
  }
  if (at !== payloadBytes) return undefined;
  return {
    count,
    firstKey: payload.subarray(firstKeyStart, firstKeyEnd),
    lastKey: payload.subarray(lastKeyStart, lastKeyEnd),
    expiring,
    ascending,
  };
}

/**
 * Compares `bytes[aStart, aEnd)` with `bytes[bStart, bEnd)`, unsigned bytes, shorter first on a tie.
 * In JavaScript: neighbouring keys share most of their bytes, and a native call per entry cost more.
 */
function compareBytes(bytes: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const length = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < length; i++) {
    const difference = bytes[aStart + i] - bytes[bStart + i];
    if (difference !== 0) return difference;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** A version 3 entry's version and expiry are what a writer could have written (checked after the CRC). */
function plausibleEntry(payload: Buffer, at: number, seq: number): boolean {
  const version = readUint64(payload, at + entryVersionOffset);
  const expiresAt = readUint64(payload, at + entryExpiresAtOffset);
  return version >= 1 && version <= seq && Number.isSafeInteger(expiresAt);
}

/**
 * Receives an entry without copies: the value is `bytes[valueStart, valueEnd)`; `version` is the
 * seq that last wrote it, `expiresAt` its expiry (epoch ms, 0: none).
 */
export type SnapshotEntryVisitor = (
  key: string,
  bytes: Buffer,
  valueStart: number,
  valueEnd: number,
  version: number,
  expiresAt: number,
) => void;

/** Hands each entry of a payload that `entriesLayout` accepted to `onEntry`; returns the count. */
export function visitEntries(payload: Buffer, format: EntryFormat, onEntry: SnapshotEntryVisitor): number {
  const count = readUint32(payload, 0);
  const { headerBytes, versioned, seq } = format;
  let at = 4;
  for (let i = 0; i < count; i++) {
    const keyStart = at + headerBytes;
    const valueStart = keyStart + readUint32(payload, at);
    const valueEnd = valueStart + readUint32(payload, at + 4);
    const version = versioned ? readUint64(payload, at + entryVersionOffset) : seq;
    const expiresAt = versioned ? readUint64(payload, at + entryExpiresAtOffset) : 0;
    onEntry(payload.toString('utf8', keyStart, valueStart), payload, valueStart, valueEnd, version, expiresAt);
    at = valueEnd;
  }
  return count;
}

function writeUint64(target: Buffer, at: number, value: number): void {
  target.writeUInt32LE(value % 2 ** 32, at);
  target.writeUInt32LE(Math.floor(value / 2 ** 32), at + 4);
}

/**
 * Little-endian reads without Buffer's own bound checks and argument validation: callers check
 * `at + 4` (or `+ 8`) against the payload first, and the payload passed its CRC. Used per entry.
 */
function readUint32(source: Uint8Array, at: number): number {
  return (source[at] | (source[at + 1] << 8) | (source[at + 2] << 16)) + source[at + 3] * 0x1000000;
}

function readUint64(source: Uint8Array, at: number): number {
  return readUint32(source, at) + readUint32(source, at + 4) * 2 ** 32;
}

/**
 * Encodes a whole snapshot file holding exactly these blocks of entries, and where each part starts
 * (header, each entries block, the index block, the end block): for tools and tests.
 */
export function encodeSnapshotFile(
  seq: number,
  blocks: ReadonlyArray<ReadonlyArray<readonly [string, StoredValue | StoredEntry]>>,
  formatVersion = snapshotFormatVersion,
): { bytes: Buffer; starts: number[] } {
  let blockBytes = 64 * 1024; // and so one index block for any file a test writes
  for (const block of blocks) {
    let bytes = 0;
    for (const [key, value] of block) bytes += entryBytesBound(key, entryOf(value, seq).value);
    blockBytes = Math.max(blockBytes, bytes);
  }
  const encoder = new SnapshotEncoder(seq, blockBytes, formatVersion);
  const parts = [encoder.header()];
  for (const block of blocks) {
    assert(block.length > 0, 'a snapshot holds no empty entries block');
    for (const [key, value] of block)
      assert(encoder.add(key, entryOf(value, seq)) === undefined, 'a block sized for its entries holds them');
    parts.push(Buffer.from(encoder.cut()));
  }
  parts.push(...encoder.finish());
  const starts: number[] = [];
  let at = 0;
  for (const part of parts) {
    starts.push(at);
    at += part.byteLength;
  }
  return { bytes: Buffer.concat(parts), starts };
}

/** A bare value as an entry of a snapshot at `seq`: last written at `seq`, never expiring. */
function entryOf(value: StoredValue | StoredEntry, seq: number): StoredEntry {
  return typeof value === 'string' || value instanceof Uint8Array ? { value, version: seq, expiresAt: 0 } : value;
}

function copyInto(source: Uint8Array, target: Buffer, at: number): number {
  target.set(source, at);
  return source.byteLength;
}

export function sealBlock(block: Buffer, kind: number): Buffer {
  block.writeUInt32LE(block.byteLength - blockHeaderBytes, blockPayloadBytesOffset);
  block.writeUInt32LE(kind, blockKindOffset);
  block.writeUInt32LE(crc32c(block.subarray(blockPayloadBytesOffset)), blockCrcOffset);
  return block;
}
