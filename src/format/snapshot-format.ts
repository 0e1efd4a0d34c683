/**
 * The snapshot file's on-disk format: the layout, an encoder of blocks, and a streaming reader.
 *
 * A snapshot file (`snap-<seq, 20 digits>.snap`) holds the whole map as of `seq`:
 *
 *   header (32 bytes)
 *     0  magic        8 bytes  "DKVSNAP\n"
 *     8  version      u32 LE   snapshotFormatVersion
 *    12  reserved     u32 LE   0
 *    16  seq          u64 LE   the last WAL record this snapshot includes
 *    24  headerCrc    u32 LE   crc32c of bytes 0..24
 *    28  reserved     u32 LE   0
 *   then blocks, back to back:
 *     0  crc          u32 LE   crc32c of bytes 4 .. 12+payloadBytes
 *     4  payloadBytes u32 LE
 *     8  kind         u32 LE   1 = entries, 2 = end
 *    12  payload
 *          entries: entryCount u32 LE, then entries: keyBytes u32 | valueBytes u32 | key | value
 *          end:     totalEntries u64 LE | seq u64 LE      (must be the last bytes of the file)
 *
 * A snapshot is written to a temporary file, fsynced, renamed into place and the directory fsynced,
 * so a `.snap` is never torn: any failed check in one is corruption, reported with its offset.
 */
import { recordBytesMax } from '../limits.js';
import { assert, StoreCorruptError } from '../errors.js';
import { crc32c } from './crc32c.js';
import type { ReadHandle } from '../fs/file-system.js';
import type { StoredValue } from '../types.js';

export const snapshotMagic = Buffer.from('DKVSNAP\n', 'latin1');
export const snapshotFormatVersion = 1;
export const snapshotHeaderBytes = 32;
const blockHeaderBytes = 12;
const blockKindEntries = 1;
const blockKindEnd = 2;
const endPayloadBytes = 16;
const entryHeaderBytes = 8;

export function encodeSnapshotHeader(seq: number): Buffer {
  const header = Buffer.alloc(snapshotHeaderBytes);
  snapshotMagic.copy(header, 0);
  header.writeUInt32LE(snapshotFormatVersion, 8);
  header.writeBigUInt64LE(BigInt(seq), 16);
  header.writeUInt32LE(crc32c(header.subarray(0, 24)), 24);
  return header;
}

/** The most bytes an entry can take: UTF-8 needs at most 3 bytes per UTF-16 code unit. */
function entryBytesBound(key: string, value: StoredValue): number {
  return entryHeaderBytes + key.length * 3 + (typeof value === 'string' ? value.length * 3 : value.byteLength);
}

/**
 * Encodes entries into blocks of about `blockBytesTarget`, straight into one reused buffer: an
 * entry is measured by the write itself, never by a separate `Buffer.byteLength` pass (half the
 * cost of a snapshot was measuring each string twice).
 */
export class SnapshotBlockWriter {
  readonly #capacity: number;
  #block: Buffer;
  #at = blockHeaderBytes + 4;
  #count = 0;

  constructor(blockBytesTarget: number) {
    this.#capacity = blockHeaderBytes + 4 + blockBytesTarget;
    this.#block = Buffer.allocUnsafe(this.#capacity);
  }

  get entries(): number {
    return this.#count;
  }

  /** Adds the entry, or returns false when the block is not empty and the entry might not fit. */
  tryAdd(key: string, value: StoredValue): boolean {
    const bound = entryBytesBound(key, value);
    if (this.#at + bound > this.#block.byteLength) {
      if (this.#count > 0) return false;
      this.#block = Buffer.allocUnsafe(this.#at + bound); // one entry larger than a block: a block of its own
    }
    const block = this.#block;
    const keyAt = this.#at + entryHeaderBytes;
    const keyBytes = block.write(key, keyAt, 'utf8');
    const valueAt = keyAt + keyBytes;
    const valueBytes = typeof value === 'string' ? block.write(value, valueAt, 'utf8') : copyInto(value, block, valueAt);
    block.writeUInt32LE(keyBytes, this.#at);
    block.writeUInt32LE(valueBytes, this.#at + 4);
    this.#at = valueAt + valueBytes;
    this.#count++;
    return true;
  }

  /**
   * Seals the block and starts an empty one. The result is a view of the writer's own buffer, valid
   * until the next `tryAdd`: write it out before adding more (no 1 MiB copy per block).
   */
  take(): Buffer {
    this.#block.writeUInt32LE(this.#count, blockHeaderBytes);
    const block = sealBlock(this.#block.subarray(0, this.#at), blockKindEntries);
    if (this.#block.byteLength > this.#capacity) this.#block = Buffer.allocUnsafe(this.#capacity);
    this.#at = blockHeaderBytes + 4;
    this.#count = 0;
    return block;
  }
}

/** Encodes one block holding exactly these entries (for tools and tests). */
export function encodeEntriesBlock(entries: ReadonlyArray<readonly [string, StoredValue]>): Buffer {
  let bound = 0;
  for (const [key, value] of entries) bound += entryBytesBound(key, value);
  const writer = new SnapshotBlockWriter(bound);
  for (const [key, value] of entries) assert(writer.tryAdd(key, value), 'a block sized for its entries holds them');
  return writer.take();
}

export function encodeEndBlock(totalEntries: number, seq: number): Buffer {
  const block = Buffer.alloc(blockHeaderBytes + endPayloadBytes);
  block.writeBigUInt64LE(BigInt(totalEntries), blockHeaderBytes);
  block.writeBigUInt64LE(BigInt(seq), blockHeaderBytes + 8);
  return sealBlock(block, blockKindEnd);
}

function copyInto(source: Uint8Array, target: Buffer, at: number): number {
  target.set(source, at);
  return source.byteLength;
}

function sealBlock(block: Buffer, kind: number): Buffer {
  block.writeUInt32LE(block.byteLength - blockHeaderBytes, 4);
  block.writeUInt32LE(kind, 8);
  block.writeUInt32LE(crc32c(block.subarray(4)), 0);
  return block;
}

export interface SnapshotReadResult {
  seq: number;
  entries: number;
  bytes: number;
}

/** Receives an entry without copies: the value is `bytes[valueStart, valueEnd)`. */
export type SnapshotEntryVisitor = (key: string, bytes: Buffer, valueStart: number, valueEnd: number) => void;

/**
 * Streams a snapshot, checking each block's CRC and structure before decoding it, and hands every
 * entry to `onEntry` in file order. Throws StoreCorruptError(file, offset, reason) on any damage;
 * a block that fails delivers none of its entries. Without `onEntry` it only checks: no key is
 * decoded (a read-back or a scrub needs the checks, not the entries).
 */
export async function readSnapshotEntries(
  handle: ReadHandle,
  fileName: string,
  onEntry?: SnapshotEntryVisitor,
): Promise<SnapshotReadResult> {
  const corrupt = (offset: number, reason: string) => new StoreCorruptError(fileName, offset, reason);
  const header = Buffer.from(await handle.read(0, snapshotHeaderBytes));
  const headerProblem = checkSnapshotHeader(header);
  if (headerProblem !== undefined) throw corrupt(0, headerProblem);
  const seq = Number(header.readBigUInt64LE(16));
  let at = snapshotHeaderBytes;
  let entries = 0;
  for (;;) {
    const blockHeader = Buffer.from(await handle.read(at, blockHeaderBytes));
    if (blockHeader.byteLength < blockHeaderBytes) throw corrupt(at, 'snapshot ends without its end block');
    const payloadBytes = blockHeader.readUInt32LE(4);
    if (payloadBytes > recordBytesMax) throw corrupt(at, `block length ${payloadBytes} out of range`);
    const payload = Buffer.from(await handle.read(at + blockHeaderBytes, payloadBytes));
    if (payload.byteLength < payloadBytes) throw corrupt(at, 'block runs past the end of the file');
    const crc = crc32c(payload, crc32c(blockHeader.subarray(4)));
    if (crc !== blockHeader.readUInt32LE(0)) throw corrupt(at, 'block checksum mismatch');
    const kind = blockHeader.readUInt32LE(8);
    if (kind === blockKindEnd) {
      await checkEnd(handle, payload, { at, seq, entries, corrupt });
      return { seq, entries, bytes: at + blockHeaderBytes + payloadBytes };
    }
    if (kind !== blockKindEntries) throw corrupt(at, `unknown block kind ${kind}`);
    if (!entriesFitExactly(payload)) throw corrupt(at, 'block payload does not decode');
    entries += onEntry === undefined ? payload.readUInt32LE(0) : visitEntries(payload, onEntry);
    at += blockHeaderBytes + payloadBytes;
  }
}

/** `readSnapshotEntries` with each value as its own Buffer view: for tools and tests. */
export function readSnapshot(
  handle: ReadHandle,
  fileName: string,
  onEntry: (key: string, value: Buffer) => void,
): Promise<SnapshotReadResult> {
  return readSnapshotEntries(handle, fileName, (key, bytes, start, end) => onEntry(key, bytes.subarray(start, end)));
}

async function checkEnd(
  handle: ReadHandle,
  payload: Buffer,
  context: { at: number; seq: number; entries: number; corrupt: (offset: number, reason: string) => Error },
): Promise<void> {
  const { at, seq, entries, corrupt } = context;
  if (payload.byteLength !== endPayloadBytes) throw corrupt(at, 'end block has the wrong size');
  if (Number(payload.readBigUInt64LE(0)) !== entries) throw corrupt(at, 'entry count does not match the end block');
  if (Number(payload.readBigUInt64LE(8)) !== seq) throw corrupt(at, 'end block seq does not match the header');
  const trailing = await handle.read(at + blockHeaderBytes + endPayloadBytes, 1);
  if (trailing.byteLength !== 0) throw corrupt(at + blockHeaderBytes + endPayloadBytes, 'bytes after the end block');
}

/** Whether the entries, walked by their lengths, end exactly at the end of the payload. */
function entriesFitExactly(payload: Buffer): boolean {
  if (payload.byteLength < 4) return false;
  const count = payload.readUInt32LE(0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + entryHeaderBytes > payload.byteLength) return false;
    at += entryHeaderBytes + payload.readUInt32LE(at) + payload.readUInt32LE(at + 4);
  }
  return at === payload.byteLength;
}

function visitEntries(payload: Buffer, onEntry: SnapshotEntryVisitor): number {
  const count = payload.readUInt32LE(0);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const keyStart = at + entryHeaderBytes;
    const valueStart = keyStart + payload.readUInt32LE(at);
    const valueEnd = valueStart + payload.readUInt32LE(at + 4);
    onEntry(payload.toString('utf8', keyStart, valueStart), payload, valueStart, valueEnd);
    at = valueEnd;
  }
  return count;
}

export function checkSnapshotHeader(header: Buffer): string | undefined {
  if (header.byteLength < snapshotHeaderBytes) return `incomplete snapshot header (${header.byteLength} bytes)`;
  if (!header.subarray(0, 8).equals(snapshotMagic)) return 'not a durable-kv snapshot (bad magic)';
  if (crc32c(header.subarray(0, 24)) !== header.readUInt32LE(24)) return 'snapshot header checksum mismatch';
  // The CRC stops at byte 24: the reserved word after it is checked here, so no header byte goes unchecked.
  if (header.readUInt32LE(28) !== 0) return 'snapshot header reserved bytes are not zero';
  const version = header.readUInt32LE(8);
  if (version !== snapshotFormatVersion) return `unsupported snapshot format version ${version}`;
  return undefined;
}
