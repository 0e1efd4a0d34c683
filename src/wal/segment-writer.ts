import path from 'node:path';
import type { CoveredSegment, SyncMode, WalSegment } from '../types.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { encodeSegmentHeader, segmentFormatVersion, walFormatVersion, walSegmentHeaderBytes } from '../format/wal-format.js';
import { walSegmentName } from '../format/file-names.js';
import { assert } from '../errors.js';
import { walPreallocateBytes } from '../limits.js';

export interface SegmentWriterOptions {
  fs: FileSystem;
  dir: string;
  sync: SyncMode;
  segmentBytesMax: number;
}

/**
 * The WAL's segments on disk and the one open for appending: the only code that touches the current
 * segment's file. It knows nothing of requests, seqs of records or the bus; the WAL actor decides
 * what to append and when to sync, rotate or close.
 *
 * Preallocation (sync 'always' only): the segment file is grown with zeros ahead of the writes, a
 * chunk at a time, so most groups overwrite allocated blocks and their fdatasync need not commit a
 * new file size through the journal. Each record carries how far its segment was known durable
 * when it was encoded (`durableBytes`), which is what lets recovery tell the hole a power loss
 * can leave in overwritten space from corruption (see src/format/wal-reader.ts). Under 'interval' and
 * 'never' there is no fsync per group to speed up, so preallocating would only cost bandwidth.
 */
export class SegmentWriter {
  readonly #options: SegmentWriterOptions;
  /** Every segment not yet covered by a snapshot, oldest first; the last is the one appended to. */
  readonly #segments: WalSegment[];
  #handle: FileHandle | undefined;
  /**
   * Bytes of the current segment known durable: up to the end of the last group whose fsync
   * succeeded. After a failure under 'always', everything past it was never acknowledged, and close
   * cuts it off, so a reopen cannot serve a write that was refused.
   */
  #durableBytes = 0;
  /** Size of the current segment file: records end at its `bytes`, zeros follow up to here. */
  #allocatedBytes = 0;
  /** End of the current segment's last record that carries writes (sync markers not counted). */
  #recordsEndBytes = 0;
  /** The most any record or sync marker in the current segment claims durable (its durableBytes). */
  #claimedBytes = 0;
  /** The most an aligned sync marker (one in a block of its own) claims: what damage to a block cannot unprove. */
  #alignedClaimedBytes = 0;

  constructor(options: SegmentWriterOptions, segments: readonly WalSegment[]) {
    this.#options = options;
    this.#segments = segments.map((segment) => ({ ...segment }));
  }

  /** Opens the last segment for appending, or creates the first one, starting at `firstSeq`. */
  async open(firstSeq: number): Promise<void> {
    const last = this.#segments.at(-1);
    if (last === undefined) return this.#createSegment(firstSeq);
    await this.#dropZeroTail(last);
    const handle = await this.#options.fs.openAppend(this.#path(last.name), 'never');
    // Recovery may have replayed records, or a whole segment, that were readable but not durable
    // (the last store died before its fsync, or failed on one and was closed). The memtable now
    // serves them, so they must survive a crash from here on: sync the segment and the directory.
    this.#handle = await this.#makeDurable(handle);
    this.#durableBytes = last.bytes;
    this.#allocatedBytes = last.bytes;
    // Recovery says how far the records on disk are already claimed durable; a segment it did not
    // walk is claimed again, whole, by the next sync marker.
    this.#recordsEndBytes = last.recordsEndBytes ?? last.bytes;
    this.#claimedBytes = last.claimedBytes ?? walSegmentHeaderBytes;
    // A claim read back is taken as aligned: a clean close's is; one left by an interval marker and a
    // crash is not, and then only a close with new records writes an aligned marker again.
    this.#alignedClaimedBytes = this.#claimedBytes;
    if (await this.#olderFormat(last)) await this.#leaveOlderFormat(last, firstSeq);
  }

  /** Whether a segment was written by an earlier format version (it is read, never appended to). */
  async #olderFormat(segment: WalSegment): Promise<boolean> {
    const handle = await this.#options.fs.openRead(this.#path(segment.name));
    try {
      return segmentFormatVersion(Buffer.from(await handle.read(0, walSegmentHeaderBytes))) < walFormatVersion;
    } finally {
      await handle.close();
    }
  }

  /**
   * New records go into a segment of the current version: a segment's header says how to read all
   * of it. One that holds no record is replaced (it would have the new one's name).
   */
  async #leaveOlderFormat(last: WalSegment, firstSeq: number): Promise<void> {
    if (last.bytes > walSegmentHeaderBytes) return this.rotate(firstSeq);
    assert(last.firstSeq === firstSeq, `an empty segment ${last.name} starts at the next seq ${firstSeq}`);
    await this.close();
    await this.#options.fs.unlink(this.#path(last.name));
    this.#segments.pop();
    await this.#createSegment(firstSeq);
  }

  get walBytes(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Whether a segment is open for appending (from a successful `open` until `close`). */
  get isOpen(): boolean {
    return this.#handle !== undefined;
  }

  /** The segment appended to (undefined only before the first one is created). */
  get lastSegment(): Readonly<WalSegment> | undefined {
    return this.#segments.at(-1);
  }

  /** Where the next append lands in the current segment: the end of its records. */
  get bytes(): number {
    return this.#current().bytes;
  }

  /** What the last completed fsync of the current segment covered. */
  get durableBytes(): number {
    return this.#durableBytes;
  }

  /** Whether the current segment has reached segmentBytesMax and should rotate before the next append. */
  get full(): boolean {
    return this.#current().bytes >= this.#options.segmentBytesMax;
  }

  /**
   * Appends `buffer` at `bytes`; once it resolves the caller counts it with `appended`. The caller
   * first grows the file (`preallocate`) when the append would pass the zeros. Each step is the
   * handle's own promise, not an async wrapper: the actor awaits the file system directly, so the
   * write path takes no extra promise hops.
   */
  append(buffer: Buffer): Promise<void> {
    const handle = this.#handle;
    assert(handle !== undefined, 'an open segment to append to');
    return handle.append(buffer);
  }

  /**
   * Counts an append of records that finished: `appendedBytes` long, each claiming the segment
   * durable up to `claimedBytes`. The segment's records now end there.
   */
  appended(appendedBytes: number, claimedBytes: number): void {
    const segment = this.#current();
    segment.bytes += appendedBytes;
    this.#allocatedBytes = Math.max(this.#allocatedBytes, segment.bytes);
    this.#recordsEndBytes = segment.bytes;
    this.#claimedBytes = Math.max(this.#claimedBytes, claimedBytes);
  }

  /**
   * What a sync marker appended now would claim durable, or undefined when none is needed: records
   * that a completed sync made durable but that no record or marker on disk claims yet. Markers
   * claim records only, never other markers, so an idle segment gets one marker, not one per sync.
   */
  syncMarkerClaim(aligned: boolean): number | undefined {
    const claim = Math.min(this.#durableBytes, this.#recordsEndBytes);
    return claim > (aligned ? this.#alignedClaimedBytes : this.#claimedBytes) ? claim : undefined;
  }

  /** Counts sync markers of `markerBytes` that finished appending, claiming `claimedBytes`. */
  markerAppended(markerBytes: number, claimedBytes: number, aligned: boolean): void {
    const segment = this.#current();
    assert(claimedBytes <= segment.bytes && claimedBytes <= this.#durableBytes, `a marker claims ${claimedBytes} durable bytes`);
    segment.bytes += markerBytes;
    this.#allocatedBytes = Math.max(this.#allocatedBytes, segment.bytes);
    this.#claimedBytes = Math.max(this.#claimedBytes, claimedBytes);
    if (aligned) this.#alignedClaimedBytes = Math.max(this.#alignedClaimedBytes, claimedBytes);
  }

  /**
   * fdatasyncs the current segment: it covers every append that finished before the call (`bytes`
   * then), which the caller passes to `synced` once it resolves. A failed sync is never retried
   * (fsyncgate): the caller fails.
   */
  sync(): Promise<void> {
    const handle = this.#handle;
    assert(handle !== undefined, 'an open segment to sync');
    return handle.sync();
  }

  /** Records that a sync covering the segment's first `coveredBytes` succeeded. */
  synced(coveredBytes: number): void {
    assert(coveredBytes >= this.#durableBytes && coveredBytes <= this.#current().bytes, `synced ${coveredBytes} bytes`);
    this.#durableBytes = coveredBytes;
  }

  /**
   * Closes the current segment (synced, whatever the sync mode) and starts the next one at
   * `firstSeq`. The caller starts no fsync meanwhile: the old handle closes before the new exists.
   */
  async rotate(firstSeq: number): Promise<void> {
    const handle = this.#handle;
    assert(handle !== undefined, 'an open segment to rotate');
    // Synced even under 'never': then only the last segment can ever have a torn tail.
    await handle.sync();
    this.#durableBytes = this.#current().bytes;
    await handle.close();
    this.#handle = undefined;
    await this.#createSegment(firstSeq);
  }

  /**
   * Takes the segments a snapshot at `upToSeq` covers out of the list, each with its last seq: a
   * segment is covered when the next one starts at or before upToSeq + 1. The last never is.
   */
  takeCovered(upToSeq: number): CoveredSegment[] {
    let count = 0;
    while (count + 1 < this.#segments.length && this.#segments[count + 1].firstSeq <= upToSeq + 1) count++;
    const covered = this.#segments
      .slice(0, count)
      .map((segment, index) => ({ ...segment, lastSeq: this.#segments[index + 1].firstSeq - 1 }));
    this.#segments.splice(0, count);
    return covered;
  }

  /** Closes the handle, if open. Best effort: what it could not flush, the last sync decided. */
  async close(): Promise<void> {
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
  }

  /**
   * After a clean close, drops the zeros preallocated past the last record: a closed store's
   * segment holds its records and nothing else, and takes no idle disk space. Best effort: the
   * zeros are harmless (they read as the segment's clean end).
   */
  async trimPreallocation(): Promise<void> {
    const current = this.#segments.at(-1);
    if (current === undefined || this.#allocatedBytes <= current.bytes) return;
    await this.#options.fs.truncate(this.#path(current.name), current.bytes).catch(() => undefined);
    this.#allocatedBytes = current.bytes;
  }

  /**
   * After a failure under sync 'always', cuts the current segment back to its last durable byte:
   * what lies past it was written but never acknowledged (its fsync failed or never ran), and the
   * page cache may still serve it. Best effort: if the cut fails, recovery still never returns
   * anything half-written. Under 'interval' and 'never' bytes past the last fsync were acknowledged,
   * so nothing is cut.
   */
  async cutUnacknowledgedTail(): Promise<void> {
    const current = this.#segments.at(-1);
    if (this.#options.sync !== 'always' || current === undefined) return;
    await this.#options.fs.truncate(this.#path(current.name), this.#durableBytes).catch(() => undefined);
  }

  #current(): WalSegment {
    const current = this.#segments.at(-1);
    assert(current !== undefined, 'an open segment');
    return current;
  }

  #path(name: string): string {
    return path.join(this.#options.dir, name);
  }

  /**
   * Recovery leaves the zeros preallocated past the last record (their end is the segment's clean
   * end); a handle appends at the end of the file, so they go first. Only zeros are cut: recovery
   * has already cut anything else after `bytes` (a torn tail) or refused to open.
   */
  async #dropZeroTail(last: WalSegment): Promise<void> {
    const segmentPath = this.#path(last.name);
    const fileBytes = await this.#options.fs.size(segmentPath);
    assert(fileBytes >= last.bytes, `segment ${last.name} is ${fileBytes} bytes, shorter than its ${last.bytes} valid bytes`);
    if (fileBytes > last.bytes) await this.#options.fs.truncate(segmentPath, last.bytes);
  }

  /** A new segment's header and directory entry are durable before any record goes into it. */
  async #createSegment(firstSeq: number): Promise<void> {
    const name = walSegmentName(firstSeq);
    const handle = await this.#options.fs.openAppend(this.#path(name), 'new');
    const allocatedBytes = walSegmentHeaderBytes + (this.#preallocates(handle) ? this.#preallocationChunkBytes() : 0);
    this.#handle = await this.#makeDurable(handle, encodeSegmentHeader(), allocatedBytes);
    this.#segments.push({ name, firstSeq, bytes: walSegmentHeaderBytes });
    this.#durableBytes = walSegmentHeaderBytes;
    this.#allocatedBytes = allocatedBytes;
    this.#recordsEndBytes = walSegmentHeaderBytes;
    this.#claimedBytes = walSegmentHeaderBytes;
    this.#alignedClaimedBytes = walSegmentHeaderBytes;
  }

  /**
   * Appends `header` if given and grows the file with zeros to `allocatedBytes` if that is more,
   * then fsyncs the file and the directory; closes the handle on failure.
   */
  async #makeDurable(handle: FileHandle, header?: Buffer, allocatedBytes = 0): Promise<FileHandle> {
    try {
      if (header !== undefined) await handle.append(header);
      if (allocatedBytes > (header?.byteLength ?? 0)) await handle.extendWithZeros?.(allocatedBytes);
      await handle.sync();
      await this.#options.fs.syncDir(this.#options.dir);
      return handle;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** Whether the current segment is grown with zeros ahead of the writes (see the class comment). */
  #preallocates(handle: FileHandle): boolean {
    return this.#options.sync === 'always' && handle.extendWithZeros !== undefined;
  }

  /** Whether a write ending at `endBytes` needs the segment grown first (never without preallocation). */
  passesPreallocation(endBytes: number): boolean {
    return endBytes > this.#allocatedBytes && this.#handle !== undefined && this.#preallocates(this.#handle);
  }

  /**
   * A segment rotates once it reaches segmentBytesMax, so zeros much past that would never be
   * written over: small segments get chunks no larger than themselves.
   */
  #preallocationChunkBytes(): number {
    return Math.min(walPreallocateBytes, this.#options.segmentBytesMax);
  }

  /**
   * Before a write would end at `endBytes`, past the zeros already there: grows the file by a chunk
   * (or by as much as the write needs). The write's own fdatasync makes the new size durable.
   */
  async preallocate(endBytes: number): Promise<void> {
    const handle = this.#handle;
    assert(handle?.extendWithZeros !== undefined && this.passesPreallocation(endBytes), 'a write past the preallocated zeros');
    const toBytes = this.#allocatedBytes + Math.max(this.#preallocationChunkBytes(), endBytes - this.#allocatedBytes);
    await handle.extendWithZeros(toBytes);
    this.#allocatedBytes = toBytes;
  }
}
