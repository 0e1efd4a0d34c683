/**
 * Reads a snapshot file (layout in `snapshot-format.ts`) and checks every byte of it: each block's
 * CRC and structure before its entries are decoded, the index against the blocks it describes, and
 * the end block against the header and the counts. Any failed check throws StoreCorruptError with
 * the file and the offset of the part that failed. It keeps nothing it cannot check.
 */
import { recordBytesMax, snapshotReadChunkBytes } from '../limits.js';
import { StoreCorruptError } from '../errors.js';
import { asBuffer, type ReadHandle } from '../fs/file-system.js';
import { crc32c } from './crc32c.js';
import {
  blockHeaderBytes,
  blockKindEnd,
  blockKindEntries,
  blockKindIndex,
  checkSnapshotHeader,
  decodeEndPayload,
  decodeIndexPayload,
  entriesLayout,
  snapshotFormatVersionUnindexed,
  entryFormatFor,
  snapshotHeaderBytes,
  snapshotHeaderSeqOffset,
  visitEntries,
  type BlockIndexRecord,
  type EntriesLayout,
  type EntryFormat,
  type SnapshotEntryVisitor,
} from './snapshot-format.js';

export type { SnapshotEntryVisitor } from './snapshot-format.js';

/**
 * Receives a whole checked entries block instead of its entries (`visitEntries` decodes it later):
 * `payload` stays valid for as long as the receiver keeps it.
 */
export type SnapshotBlockVisitor = (payload: Buffer, format: EntryFormat, layout: EntriesLayout) => void;

export interface SnapshotReadResult {
  seq: number;
  entries: number;
  bytes: number;
}

type Corrupt = (offset: number, reason: string) => StoreCorruptError;

/**
 * Streams a snapshot and hands every entry to `onEntry` in file order. Throws StoreCorruptError on
 * any damage; a block that fails delivers none of its entries (earlier blocks' entries were
 * delivered: the caller discards them). Without `onEntry` it only checks: no key is decoded (a
 * read-back or a scrub needs the checks, not the entries). `onBlock` gets each entries block once
 * it checked out, to decode later.
 */
export async function readSnapshotEntries(
  file: ReadHandle,
  fileName: string,
  onEntry?: SnapshotEntryVisitor,
  onBlock?: SnapshotBlockVisitor,
): Promise<SnapshotReadResult> {
  const handle = new ReadAhead(file);
  const corrupt: Corrupt = (offset, reason) => new StoreCorruptError(fileName, offset, reason);
  const header = Buffer.from(await handle.read(0, snapshotHeaderBytes));
  const headerProblem = checkSnapshotHeader(header);
  if (headerProblem !== undefined) throw corrupt(0, headerProblem);
  const seq = Number(header.readBigUInt64LE(snapshotHeaderSeqOffset));
  const formatVersion = header.readUInt32LE(8);
  const indexed = formatVersion !== snapshotFormatVersionUnindexed;
  const format = entryFormatFor(formatVersion, seq);
  const blocks: BlockIndexRecord[] = [];
  const index = new IndexCheck(blocks, corrupt);
  let at = snapshotHeaderBytes;
  let entries = 0;
  for (;;) {
    const { kind, payload } = await readBlock(handle, at, corrupt);
    if (kind === blockKindEnd) {
      await checkEnd(handle, payload, { at, seq, entries, indexed, index, corrupt });
      return { seq, entries, bytes: at + blockHeaderBytes + payload.byteLength };
    }
    if (kind === blockKindIndex && indexed) {
      index.add(at, payload);
    } else if (kind === blockKindEntries && !index.started) {
      const layout = entriesLayout(payload, format);
      if (layout === undefined || layout.count === 0) throw corrupt(at, 'block payload does not decode');
      // Copies: a view would keep every block's payload alive until the read ends.
      blocks.push({ offset: at, entries: layout.count, firstKey: Buffer.from(layout.firstKey), lastKey: Buffer.from(layout.lastKey) });
      if (onBlock !== undefined) onBlock(payload, format, layout);
      entries += onEntry === undefined ? layout.count : visitEntries(payload, format, onEntry);
    } else {
      throw corrupt(at, `unexpected block kind ${kind}`);
    }
    at += blockHeaderBytes + payload.byteLength;
  }
}

/**
 * Reads a file front to back in growing chunks, up to `snapshotReadChunkBytes`: a block costs no
 * read call and no await of its own (small blocks bound what damage costs; they should not cost a
 * syscall each). Chunks start small and double, so a small file is not read as 4 MiB.
 */
class ReadAhead {
  readonly #file: ReadHandle;
  #chunk: Buffer = Buffer.alloc(0);
  #chunkAt = 0;
  #chunkBytes = 64 * 1024;

  constructor(file: ReadHandle) {
    this.#file = file;
  }

  /** Up to `length` bytes at `position`, fewer at the end of the file; a view, valid until the next read. */
  async read(position: number, length: number): Promise<Buffer> {
    const end = position + length;
    if (position < this.#chunkAt || end > this.#chunkAt + this.#chunk.byteLength) {
      const wanted = Math.max(length, this.#chunkBytes);
      this.#chunkBytes = Math.min(this.#chunkBytes * 2, snapshotReadChunkBytes);
      this.#chunk = asBuffer(await this.#file.read(position, wanted));
      this.#chunkAt = position;
    }
    return this.#chunk.subarray(position - this.#chunkAt, Math.min(end, this.#chunkAt + this.#chunk.byteLength) - this.#chunkAt);
  }
}

/** One block at `at`, its CRC checked. */
async function readBlock(handle: ReadAhead, at: number, corrupt: Corrupt): Promise<{ kind: number; payload: Buffer }> {
  const blockHeader = await handle.read(at, blockHeaderBytes);
  if (blockHeader.byteLength < blockHeaderBytes) throw corrupt(at, 'snapshot ends without its end block');
  const payloadBytes = blockHeader.readUInt32LE(4);
  if (payloadBytes > recordBytesMax) throw corrupt(at, `block length ${payloadBytes} out of range`);
  const crcExpected = blockHeader.readUInt32LE(0);
  const headerCrc = crc32c(blockHeader.subarray(4));
  const kind = blockHeader.readUInt32LE(8);
  const payload = await handle.read(at + blockHeaderBytes, payloadBytes);
  if (payload.byteLength < payloadBytes) throw corrupt(at, 'block runs past the end of the file');
  if (crc32c(payload, headerCrc) !== crcExpected) throw corrupt(at, 'block checksum mismatch');
  return { kind, payload };
}

/** Checks the index blocks, as they come, against the entries blocks read before them. */
class IndexCheck {
  readonly #blocks: readonly BlockIndexRecord[];
  readonly #corrupt: Corrupt;
  #next = 0;
  offset: number | undefined;

  constructor(blocks: readonly BlockIndexRecord[], corrupt: Corrupt) {
    this.#blocks = blocks;
    this.#corrupt = corrupt;
  }

  get started(): boolean {
    return this.offset !== undefined;
  }

  get records(): number {
    return this.#next;
  }

  add(at: number, payload: Buffer): void {
    this.offset ??= at;
    const records = decodeIndexPayload(payload);
    if (records === undefined || records.length === 0) throw this.#corrupt(at, 'index block payload does not decode');
    for (const record of records) {
      const block = this.#blocks[this.#next++];
      const same =
        block !== undefined &&
        block.offset === record.offset &&
        block.entries === record.entries &&
        block.firstKey.equals(record.firstKey) &&
        block.lastKey.equals(record.lastKey);
      if (!same) throw this.#corrupt(at, `index record ${this.#next - 1} does not match the block it describes`);
    }
  }
}

async function checkEnd(
  handle: ReadAhead,
  payload: Buffer,
  context: { at: number; seq: number; entries: number; indexed: boolean; index: IndexCheck; corrupt: Corrupt },
): Promise<void> {
  const { at, seq, entries, indexed, index, corrupt } = context;
  const end = decodeEndPayload(payload);
  if (end === undefined || (end.indexOffset !== undefined) !== indexed) throw corrupt(at, 'end block has the wrong size');
  if (end.totalEntries !== entries) throw corrupt(at, 'entry count does not match the end block');
  if (end.seq !== seq) throw corrupt(at, 'end block seq does not match the header');
  if (indexed) {
    if (end.entriesBlocks !== index.records) throw corrupt(at, 'the index does not list every entries block');
    if (end.indexOffset !== (index.offset ?? at)) throw corrupt(at, 'end block index offset does not match the index');
  }
  const trailing = await handle.read(at + blockHeaderBytes + payload.byteLength, 1);
  if (trailing.byteLength !== 0) throw corrupt(at + blockHeaderBytes + payload.byteLength, 'bytes after the end block');
}

/** `readSnapshotEntries` with each value as its own Buffer view: for tools and tests. */
export function readSnapshot(
  handle: ReadHandle,
  fileName: string,
  onEntry: (key: string, value: Buffer) => void,
): Promise<SnapshotReadResult> {
  return readSnapshotEntries(handle, fileName, (key, bytes, start, end) => onEntry(key, bytes.subarray(start, end)));
}
