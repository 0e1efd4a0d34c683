import Denque from 'denque';
import { takeUntil } from 'rxjs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { Bus, WriteRequest } from '../messages/index.js';
import type { SyncMode, WalSegment } from '../types.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { encodeSegmentHeader, encodeWalRecord, walSegmentHeaderBytes } from '../format/wal-format.js';
import { walSegmentName } from '../format/file-names.js';
import { assert, StoreClosedError, StoreFailedError, StoreOverloadedError } from '../errors.js';
import { fsErrorCode } from '../fs/file-system.js';
import { groupBytesMax, walPreallocateBytes } from '../limits.js';

export interface WalActorOptions {
  fs: FileSystem;
  dir: string;
  sync: SyncMode;
  syncIntervalMs: number;
  segmentBytesMax: number;
  mailboxWritesMax: number;
  mailboxBytesMax: number;
  /** Keep segments a snapshot covers this long before deleting them (history for `changes()`). */
  walRetentionMs: number;
}

/** A snapshot barrier waiting its turn in the mailbox between writes. */
interface RotateRequest {
  readonly kind: 'rotate';
  readonly requestId: number;
  readonly freezeMemtable: boolean;
}

/** Writes go into the mailbox as they are, not wrapped: one object fewer per write. */
type MailboxItem = WriteRequest | RotateRequest;

interface WrittenGroup {
  firstSeq: number;
  requests: WriteRequest[];
}

/**
 * The only writer of the WAL. Every write passes through its mailbox, in arrival order.
 *
 * Group commit: the write loop takes everything queued (up to groupBytesMax) as one group, encodes
 * it into one buffer and appends it with one write. With `sync: 'always'` the group waits for an
 * fdatasync that *began after its write finished*; the next group may be written while that fsync
 * runs, so the disk is never idle between groups. Groups are committed (published as
 * `wal.committed`, then applied and acknowledged) strictly in seq order.
 *
 * Failure (fsyncgate): the first failed write or fsync moves the actor to failed for good. The
 * requests it could not make durable are rejected, never acknowledged; nothing is retried.
 *
 * Preallocation (sync 'always' only): the segment file is grown with zeros ahead of the writes, a
 * chunk at a time, so most groups overwrite allocated blocks and their fdatasync need not commit a
 * new file size through the journal. Each record carries how far its segment was known durable
 * when it was encoded (`#durableBytes`), which is what lets recovery tell the hole a power loss
 * can leave in overwritten space from corruption (see src/format/wal-format.ts). Under 'interval' and
 * 'never' there is no fsync per group to speed up, so preallocating would only cost bandwidth.
 */
export class WalActor {
  readonly #bus: Bus;
  readonly #options: WalActorOptions;
  readonly #mailbox = new Denque<MailboxItem>();
  #mailboxBytes = 0;
  #segments: WalSegment[];
  #handle: FileHandle | undefined;
  #nextSeq: number;
  #lastCommittedSeq: number;
  #writing = false;
  #writeScheduled = false;
  #syncing = false;
  #syncWanted = false;
  #unsynced: WrittenGroup[] = [];
  #idleWaiters: Array<() => void> = [];
  #failure: StoreFailedError | undefined;
  #closed = false;
  #syncTimer: NodeJS.Timeout | undefined;
  /** Segments a snapshot covers, kept for `walRetentionMs` from when they were covered. */
  #retained: Array<WalSegment & { coveredAtMs: number }> = [];
  #pruneTimer: NodeJS.Timeout | undefined;
  #pruning: Promise<unknown> = Promise.resolve();
  /** True while a segment is closed and the next created: no fsync may touch the handle then. */
  #rotating = false;
  /**
   * Bytes of the current segment known durable: up to the end of the last group whose fsync
   * succeeded. After a failure under 'always', everything past it was never acknowledged, and close
   * cuts it off, so a reopen cannot serve a write that was refused.
   */
  #durableBytes = 0;
  /** Size of the current segment file: records end at its `bytes`, zeros follow up to here. */
  #allocatedBytes = 0;

  constructor(
    bus: Bus,
    options: WalActorOptions,
    recovered: { segments: WalSegment[]; lastSeq: number; coveredSegments: WalSegment[] },
  ) {
    this.#bus = bus;
    this.#options = options;
    this.#segments = recovered.segments.map((segment) => ({ ...segment }));
    this.#retained = recovered.coveredSegments.map((segment) => ({ ...segment, coveredAtMs: performance.now() }));
    this.#nextSeq = recovered.lastSeq + 1;
    this.#lastCommittedSeq = recovered.lastSeq;
    bus.on('wal.append').pipe(takeUntil(bus.stop$)).subscribe(({ request }) => this.#enqueueAppend(request));
    bus.on('wal.rotate').pipe(takeUntil(bus.stop$)).subscribe(({ requestId, freezeMemtable }) => {
      this.#enqueue({ kind: 'rotate', requestId, freezeMemtable }, 0);
    });
    bus.on('wal.compact').pipe(takeUntil(bus.stop$)).subscribe(({ requestId, upToSeq }) => {
      void this.#compact(requestId, upToSeq);
    });
    bus.on('wal.halt').pipe(takeUntil(bus.stop$)).subscribe(({ error, during }) => this.#fail(error, during, []));
  }

  /** Opens the last segment for appending, or creates the first one. */
  async start(): Promise<void> {
    const last = this.#segments.at(-1);
    if (last === undefined) {
      await this.#createSegment();
    } else {
      await this.#dropZeroTail(last);
      const handle = await this.#options.fs.openAppend(this.#path(last.name), 'never');
      // Recovery may have replayed records, or a whole segment, that were readable but not durable
      // (the last store died before its fsync, or failed on one and was closed). The memtable now
      // serves them, so they must survive a crash from here on: sync the segment and the directory.
      this.#handle = await this.#makeDurable(handle);
      this.#durableBytes = last.bytes;
      this.#allocatedBytes = last.bytes;
    }
    if (this.#retained.length > 0) this.#pruning = this.#pruneRetained().catch(() => undefined);
    if (this.#options.sync === 'interval') {
      this.#syncTimer = setInterval(() => this.#requestSync(), this.#options.syncIntervalMs);
      this.#syncTimer.unref();
    }
  }

  /** Drains every queued write, makes the WAL durable and closes it. New writes are refused. */
  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#syncTimer);
    clearTimeout(this.#pruneTimer);
    await this.#pruning;
    await this.#waitUntilIdle();
    if (this.#failure === undefined && this.#handle !== undefined) {
      // Under 'interval' and 'never' acknowledged writes may still be unsynced: a clean close syncs.
      this.#syncWanted = true;
      this.#kickSync();
      await this.#waitUntilIdle();
    }
    await this.#handle?.close().catch(() => undefined);
    this.#handle = undefined;
    if (this.#failure !== undefined) {
      await this.#cutUnacknowledgedTail();
      throw this.#failure;
    }
    await this.#trimPreallocation();
  }

  /**
   * After a clean close, drops the zeros preallocated past the last record: a closed store's
   * segment holds its records and nothing else, and takes no idle disk space. Best effort: the
   * zeros are harmless (they read as the segment's clean end).
   */
  async #trimPreallocation(): Promise<void> {
    const current = this.#segments.at(-1);
    if (current === undefined || this.#allocatedBytes <= current.bytes) return;
    await this.#options.fs.truncate(this.#path(current.name), current.bytes).catch(() => undefined);
    this.#allocatedBytes = current.bytes;
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

  /**
   * After a failure under sync 'always', cuts the current segment back to its last durable byte:
   * what lies past it was written but never acknowledged (its fsync failed or never ran), and the
   * page cache may still serve it. Best effort: if the cut fails, recovery still never returns
   * anything half-written. Under 'interval' and 'never' bytes past the last fsync were acknowledged,
   * so nothing is cut.
   */
  async #cutUnacknowledgedTail(): Promise<void> {
    const current = this.#segments.at(-1);
    if (this.#options.sync !== 'always' || current === undefined) return;
    await this.#options.fs.truncate(this.#path(current.name), this.#durableBytes).catch(() => undefined);
  }

  get failure(): StoreFailedError | undefined {
    return this.#failure;
  }

  get lastSeq(): number {
    return this.#lastCommittedSeq;
  }

  get walBytes(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  get segmentCount(): number {
    return this.#segments.length;
  }

  get pendingWrites(): number {
    return this.#mailbox.length;
  }

  #path(name: string): string {
    return path.join(this.#options.dir, name);
  }

  #enqueueAppend(request: WriteRequest): void {
    if (this.#failure !== undefined) return request.reject(this.#failure);
    if (this.#closed) return request.reject(new StoreClosedError());
    const { mailboxWritesMax, mailboxBytesMax } = this.#options;
    if (this.#mailbox.length >= mailboxWritesMax || this.#mailboxBytes + request.recordBytes > mailboxBytesMax) {
      return request.reject(
        new StoreOverloadedError(`the WAL mailbox is full (${this.#mailbox.length} writes, ${this.#mailboxBytes} bytes queued)`),
      );
    }
    this.#enqueue(request, request.recordBytes);
  }

  #enqueue(item: MailboxItem, bytes: number): void {
    this.#mailbox.push(item);
    this.#mailboxBytes += bytes;
    if (this.#writing || this.#writeScheduled) return;
    // Start on the next turn, not now. When a commit acknowledges many callers at once, each one's
    // next write arrives a few promise hops later; starting at the first would write a group of one,
    // whose fsync would then make all the others wait (and the split repeats, round after round).
    // One turn later they have all arrived, and one write and one fsync take them all.
    this.#writeScheduled = true;
    setImmediate(() => {
      this.#writeScheduled = false;
      this.#startWriting();
    });
  }

  async #writeLoop(): Promise<void> {
    assert(!this.#writing, 'one write loop at a time');
    this.#writing = true;
    try {
      while (this.#mailbox.length > 0 && this.#failure === undefined) {
        const head = this.#mailbox.peekFront();
        assert(head !== undefined, 'mailbox head');
        if (head.kind === 'rotate') {
          this.#mailbox.shift();
          await this.#rotateAtBarrier(head.requestId, head.freezeMemtable);
        } else {
          await this.#writeNextGroup();
        }
      }
    } finally {
      this.#writing = false;
      if (this.#failure !== undefined) this.#rejectMailbox(this.#failure);
      this.#notifyIfIdle();
    }
  }

  async #writeNextGroup(): Promise<void> {
    const current = this.#segments.at(-1);
    assert(current !== undefined && this.#handle !== undefined, 'an open segment');
    if (current.bytes >= this.#options.segmentBytesMax) {
      await this.#rotate();
      if (this.#failure !== undefined) return;
    }
    const group = this.#takeGroup();
    let buffer: Buffer;
    try {
      const offset = this.#segments.at(-1)!.bytes;
      buffer = this.#encodeGroup(group, offset);
      // Only a group that passes the zeros awaits: an await per group costs the non-durable hot path.
      if (this.#passesPreallocation(offset + buffer.byteLength)) await this.#preallocate(offset + buffer.byteLength);
      await this.#handle.append(buffer);
    } catch (error) {
      this.#fail(error, 'write', group.requests);
      return;
    }
    if (this.#failure !== undefined) {
      // An fsync failed while this group was being written: it will never be synced.
      for (const request of group.requests) request.reject(this.#failure);
      return;
    }
    const segment = this.#segments.at(-1)!;
    segment.bytes += buffer.byteLength;
    this.#allocatedBytes = Math.max(this.#allocatedBytes, segment.bytes);
    this.#bus.publish({ type: 'wal.groupWritten', records: group.requests.length, bytes: buffer.byteLength });
    if (this.#options.sync === 'always') {
      this.#unsynced.push(group);
      this.#kickSync();
    } else {
      this.#commit([group]);
    }
  }

  #takeGroup(): WrittenGroup {
    const requests: WriteRequest[] = [];
    let bytes = 0;
    for (let head = this.#mailbox.peekFront(); head !== undefined && head.kind !== 'rotate'; head = this.#mailbox.peekFront()) {
      if (requests.length > 0 && bytes + head.recordBytes > groupBytesMax) break;
      this.#mailbox.shift();
      requests.push(head);
      bytes += head.recordBytes;
    }
    this.#mailboxBytes -= bytes;
    const group = { firstSeq: this.#nextSeq, requests };
    this.#nextSeq += requests.length;
    return group;
  }

  /** Encodes a group that will be written at `offset` of the current segment. */
  #encodeGroup(group: WrittenGroup, offset: number): Buffer {
    let bytes = 0;
    for (const request of group.requests) bytes += request.recordBytes;
    const buffer = Buffer.allocUnsafe(bytes);
    let at = 0;
    const { firstSeq, requests } = group;
    // What the last completed fsync covered, read now: a sync finishing later only makes it an
    // understatement, which recovery tolerates; an overstatement would call a power loss corruption.
    const durableBytes = this.#durableBytes;
    assert(durableBytes <= offset, `durable bytes ${durableBytes} past the write offset ${offset}`);
    for (let index = 0; index < requests.length; index++) {
      at = encodeWalRecord(buffer, at, firstSeq + index, requests[index].ops, durableBytes);
    }
    assert(at === bytes, `encoded ${at} bytes, measured ${bytes}`);
    return buffer;
  }

  /** Whether the current segment is grown with zeros ahead of the writes (see the class comment). */
  #preallocates(handle: FileHandle): boolean {
    return this.#options.sync === 'always' && handle.extendWithZeros !== undefined;
  }

  /** Whether a write ending at `endBytes` needs the segment grown first (never without preallocation). */
  #passesPreallocation(endBytes: number): boolean {
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
  async #preallocate(endBytes: number): Promise<void> {
    const handle = this.#handle;
    assert(handle !== undefined && this.#passesPreallocation(endBytes), 'a write past the preallocated zeros');
    const toBytes = this.#allocatedBytes + Math.max(this.#preallocationChunkBytes(), endBytes - this.#allocatedBytes);
    await handle.extendWithZeros!(toBytes);
    this.#allocatedBytes = toBytes;
  }

  #requestSync(): void {
    this.#syncWanted = true;
    this.#kickSync();
  }

  #kickSync(): void {
    // During a rotation the old handle is being closed and the new one does not exist yet; the
    // rotation syncs the old segment itself, and the new one starts out synced.
    if (this.#syncing || this.#rotating || this.#failure !== undefined) return;
    void this.#syncLoop();
  }

  async #syncLoop(): Promise<void> {
    this.#syncing = true;
    try {
      while ((this.#unsynced.length > 0 || this.#syncWanted) && this.#failure === undefined) {
        // Only groups whose write has finished are in #unsynced: this fsync covers all of them.
        const groups = this.#unsynced;
        this.#unsynced = [];
        this.#syncWanted = false;
        const startedAtMs = performance.now();
        const handle = this.#handle;
        assert(handle !== undefined, 'an open segment to sync');
        const bytesCovered = this.#segments.at(-1)!.bytes;
        try {
          await handle.sync();
        } catch (error) {
          this.#fail(error, 'fsync', groups.flatMap((group) => group.requests));
          return;
        }
        this.#durableBytes = bytesCovered;
        const records = groups.reduce((sum, group) => sum + group.requests.length, 0);
        this.#bus.publish({ type: 'wal.synced', records, latencyMs: performance.now() - startedAtMs });
        this.#commit(groups);
      }
    } finally {
      this.#syncing = false;
      this.#notifyIfIdle();
    }
  }

  /** Publishes the groups as one run of consecutive seqs (they were written back to back). */
  #commit(groups: readonly WrittenGroup[]): void {
    if (groups.length === 0) return;
    const firstSeq = groups[0].firstSeq;
    const requests = groups.length === 1 ? groups[0].requests : groups.flatMap((group) => group.requests);
    assert(firstSeq === this.#lastCommittedSeq + 1, `commit of ${firstSeq} after ${this.#lastCommittedSeq}`);
    for (let index = 1; index < groups.length; index++) {
      const before = groups[index - 1];
      assert(groups[index].firstSeq === before.firstSeq + before.requests.length, 'committed groups are consecutive');
    }
    this.#lastCommittedSeq = firstSeq + requests.length - 1;
    this.#bus.publish({ type: 'wal.committed', run: { firstSeq, requests } });
    // The writers this commit acknowledged send their next writes from promise callbacks; a tick
    // runs once every such callback has, so it finds them all queued: one group, written at once,
    // without the trip through the event loop's check phase (where a snapshot slice may be first).
    process.nextTick(() => {
      if (this.#mailbox.length > 0) this.#startWriting();
    });
  }

  #startWriting(): void {
    if (!this.#writing) void this.#writeLoop();
  }

  /** The snapshot barrier: every earlier write committed, a fresh segment, then `wal.rotated` at once. */
  async #rotateAtBarrier(requestId: number, freezeMemtable: boolean): Promise<void> {
    await this.#waitForSyncs();
    const current = this.#segments.at(-1);
    if (this.#failure === undefined && current !== undefined && current.firstSeq < this.#nextSeq) {
      await this.#rotate();
    }
    if (this.#failure !== undefined) {
      this.#bus.publish({ type: 'wal.rotateFailed', requestId, error: this.#failure });
      return;
    }
    assert(this.#lastCommittedSeq === this.#nextSeq - 1, 'barrier with uncommitted records');
    this.#bus.publish({ type: 'wal.rotated', requestId, seq: this.#lastCommittedSeq, freezeMemtable });
  }

  /** Closes the current segment (synced, whatever the sync mode) and starts the next one. */
  async #rotate(): Promise<void> {
    await this.#waitForSyncs();
    if (this.#failure !== undefined) return;
    this.#rotating = true;
    try {
      assert(this.#handle !== undefined, 'an open segment to rotate');
      // Synced even under 'never': then only the last segment can ever have a torn tail.
      await this.#handle.sync();
      this.#durableBytes = this.#segments.at(-1)!.bytes;
      await this.#handle.close();
      this.#handle = undefined;
      await this.#createSegment();
      this.#syncWanted = false; // the old segment was just synced; the new one holds nothing yet
    } catch (error) {
      this.#fail(error, 'segment rotation', []);
    } finally {
      this.#rotating = false;
    }
  }

  /** A new segment's header and directory entry are durable before any record goes into it. */
  async #createSegment(): Promise<void> {
    const name = walSegmentName(this.#nextSeq);
    const handle = await this.#options.fs.openAppend(this.#path(name), 'new');
    const allocatedBytes = walSegmentHeaderBytes + (this.#preallocates(handle) ? this.#preallocationChunkBytes() : 0);
    this.#handle = await this.#makeDurable(handle, encodeSegmentHeader(), allocatedBytes);
    this.#segments.push({ name, firstSeq: this.#nextSeq, bytes: walSegmentHeaderBytes });
    this.#durableBytes = walSegmentHeaderBytes;
    this.#allocatedBytes = allocatedBytes;
  }

  /**
   * Appends `header` if given and grows the file with zeros to `allocatedBytes` if that is more,
   * then fsyncs the file and the directory; closes the handle on failure.
   */
  async #makeDurable(handle: FileHandle, header?: Buffer, allocatedBytes = 0): Promise<FileHandle> {
    try {
      if (header !== undefined) await handle.append(header);
      if (allocatedBytes > (header?.byteLength ?? 0)) await handle.extendWithZeros!(allocatedBytes);
      await handle.sync();
      await this.#options.fs.syncDir(this.#options.dir);
      return handle;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  async #compact(requestId: number, upToSeq: number): Promise<void> {
    // A segment is covered when the next one starts at or before upToSeq + 1. The last never is.
    const coveredAtMs = performance.now();
    while (this.#segments.length > 1 && this.#segments[1].firstSeq <= upToSeq + 1) {
      this.#retained.push({ ...this.#segments.shift()!, coveredAtMs });
    }
    try {
      const pruning = this.#pruneRetained();
      this.#pruning = pruning.catch(() => undefined);
      const segmentsDeleted = await pruning;
      this.#bus.publish({ type: 'wal.compacted', requestId, segmentsDeleted });
    } catch (error) {
      // A covered segment left behind is harmless (recovery skips it); report, do not fail the store.
      this.#bus.publish({ type: 'wal.compacted', requestId, segmentsDeleted: 0, error: error as Error });
    }
  }

  /** Deletes the covered segments whose retention has passed; checks again later for the rest. */
  async #pruneRetained(): Promise<number> {
    clearTimeout(this.#pruneTimer);
    const deadlineMs = performance.now() - this.#options.walRetentionMs;
    const expired = this.#retained.filter((segment) => segment.coveredAtMs <= deadlineMs);
    this.#retained = this.#retained.filter((segment) => segment.coveredAtMs > deadlineMs);
    for (const segment of expired) await this.#options.fs.unlink(this.#path(segment.name));
    if (expired.length > 0) await this.#options.fs.syncDir(this.#options.dir);
    if (this.#retained.length > 0 && !this.#closed) {
      this.#pruneTimer = setTimeout(() => {
        this.#pruning = this.#pruneRetained().catch(() => undefined);
      }, this.#options.walRetentionMs);
      this.#pruneTimer.unref();
    }
    return expired.length;
  }

  #fail(cause: unknown, during: string, requests: readonly WriteRequest[]): void {
    if (this.#failure === undefined) {
      const diskFull = fsErrorCode(cause) === 'ENOSPC';
      const message = diskFull
        ? `the disk is full (ENOSPC during ${during}): the store accepts no more writes; free space, then close and reopen it`
        : `WAL ${during} failed (${fsErrorCode(cause) ?? 'error'}): the store accepts no more writes; close and reopen it`;
      this.#failure = new StoreFailedError(message, { cause });
      this.#bus.publish({ type: 'wal.failed', error: this.#failure });
    }
    for (const request of requests) request.reject(this.#failure);
    for (const group of this.#unsynced) for (const request of group.requests) request.reject(this.#failure);
    this.#unsynced = [];
    this.#rejectMailbox(this.#failure);
  }

  #rejectMailbox(error: Error): void {
    while (this.#mailbox.length > 0) {
      const item = this.#mailbox.shift()!;
      if (item.kind !== 'rotate') item.reject(error);
      else this.#bus.publish({ type: 'wal.rotateFailed', requestId: item.requestId, error });
    }
    this.#mailboxBytes = 0;
  }

  async #waitForSyncs(): Promise<void> {
    while (this.#syncing || (this.#unsynced.length > 0 && this.#failure === undefined)) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  async #waitUntilIdle(): Promise<void> {
    while (this.#writing || this.#syncing || (this.#mailbox.length > 0 && this.#failure === undefined)) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  #notifyIfIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
