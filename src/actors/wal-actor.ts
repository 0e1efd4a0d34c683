import Denque from 'denque';
import { takeUntil } from 'rxjs';
import { performance } from 'node:perf_hooks';
import type { Bus, UnwrittenWrite, WriteRequest } from '../messages/index.js';
import type { CoveredSegment, StoredEntry, SyncMode, WalSegment, WriteResult } from '../types.js';
import type { FileSystem } from '../fs/file-system.js';
import { encodeAlignedSyncMarker, encodeSyncMarker, encodeWalRecord, walRecordBytes, walSyncMarkerBytes } from '../format/wal-format.js';
import { hasDeleteRange, SequencedView } from '../memtable/sequenced-view.js';
import { resolveIntent } from '../memtable/resolve-intent.js';
import { assert, StoreClosedError, StoreFailedError, StoreOverloadedError } from '../errors.js';
import { fsErrorCode } from '../fs/file-system.js';
import { groupBytesMax, syncMarkerAlignBytes } from '../limits.js';
import { SegmentWriter } from '../wal/segment-writer.js';
import { Retention } from '../wal/retention.js';
import type { WriteSettler } from '../wal/write-settler.js';

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
  /** The memtable's entry for a key (applied writes): conditional writes are resolved against it and what is not yet applied. */
  lookup: (key: string) => StoredEntry | undefined;
  /** Values are bytes ('binary'): an increment of a missing key stores its digits as bytes. */
  binaryValues: boolean;
  /** The store's clock (epoch ms, never going back): what "expired" means when an intent is sequenced. */
  now: () => number;
}

/** A snapshot barrier waiting its turn in the mailbox between writes. */
interface RotateRequest {
  readonly kind: 'rotate';
  readonly requestId: number;
  readonly freezeMemtable: boolean;
}

/**
 * A sync marker waiting its turn: appends go through the write loop only, one at a time. `aligned`:
 * in a block of its own (a clean close's), so damage to the block of the last records spares it.
 */
interface SyncMarkerRequest {
  readonly kind: 'syncMarker';
  readonly aligned: boolean;
}

/** Writes go into the mailbox as they are, not wrapped: one object fewer per write. */
type MailboxItem = WriteRequest | RotateRequest | SyncMarkerRequest;

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
 * The segment files are the SegmentWriter's (preallocation, rotation, the durable offset each record
 * carries), covered segments the Retention's; every request is settled through the WriteSettler.
 */
export class WalActor {
  readonly #bus: Bus;
  readonly #options: WalActorOptions;
  readonly #segment: SegmentWriter;
  readonly #retention: Retention;
  readonly #settler: WriteSettler;
  readonly #mailbox = new Denque<MailboxItem>();
  #mailboxBytes = 0;
  #nextSeq: number;
  #lastCommittedSeq: number;
  #writing = false;
  #writeScheduled = false;
  #syncing = false;
  #syncWanted = false;
  #unsynced: WrittenGroup[] = [];
  /** The groups the running fdatasync covers: written, not yet committed. */
  #syncingGroups: WrittenGroup[] = [];
  #unwritten: UnwrittenWrite[] = [];
  #idleWaiters: Array<() => void> = [];
  #failure: StoreFailedError | undefined;
  #closed = false;
  #syncTimer: NodeJS.Timeout | undefined;
  /** True while a segment is closed and the next created: no fsync may touch the handle then. */
  #rotating = false;
  /** A sync marker is in the mailbox: one is enough, it claims whatever is durable when written. */
  #syncMarkerQueued = false;

  constructor(
    bus: Bus,
    options: WalActorOptions,
    recovered: { segments: WalSegment[]; lastSeq: number; coveredSegments: CoveredSegment[]; keepAfterSeq: number },
    settler: WriteSettler,
  ) {
    this.#bus = bus;
    this.#options = options;
    this.#settler = settler;
    this.#segment = new SegmentWriter(options, recovered.segments);
    this.#retention = new Retention(options, recovered.coveredSegments, recovered.keepAfterSeq);
    this.#nextSeq = recovered.lastSeq + 1;
    this.#lastCommittedSeq = recovered.lastSeq;
    bus
      .on('wal.append')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ request }) => this.#enqueueAppend(request));
    bus
      .on('wal.rotate')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ requestId, freezeMemtable }) => {
        this.#enqueue({ kind: 'rotate', requestId, freezeMemtable }, 0);
      });
    bus
      .on('wal.compact')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ requestId, upToSeq, keepAfterSeq }) => {
        void this.#compact(requestId, upToSeq, keepAfterSeq);
      });
    bus
      .on('wal.halt')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ error, during }) => this.#fail(error, during, []));
  }

  /** Opens the last segment for appending, or creates the first one. */
  async start(): Promise<void> {
    await this.#segment.open(this.#nextSeq);
    this.#retention.start();
    if (this.#options.sync === 'interval') {
      this.#syncTimer = setInterval(() => this.#requestSync(), this.#options.syncIntervalMs);
      this.#syncTimer.unref();
    }
  }

  /** Drains every queued write, makes the WAL durable and closes it. New writes are refused. */
  /**
   * `beforeFinalCheck` runs once every write is committed, before the check that each was settled:
   * the engine waits there for acknowledgements replication still holds.
   */
  async stop(beforeFinalCheck: () => Promise<void> = async () => undefined): Promise<void> {
    this.#closed = true;
    clearInterval(this.#syncTimer);
    await this.#retention.stop();
    await this.#waitUntilIdle();
    if (this.#failure === undefined && this.#segment.isOpen) {
      // Under 'interval' and 'never' acknowledged writes may still be unsynced: a clean close syncs.
      await this.#syncUntilIdle();
      // Then it leaves the proof of that on disk: without it, a damaged byte after the last record's
      // claim would read as a torn tail at the next open, and durable writes would be cut silently.
      if (this.#failure === undefined && this.#segment.syncMarkerClaim(true) !== undefined) {
        this.#enqueueSyncMarker(true);
        await this.#waitUntilIdle();
        await this.#syncUntilIdle();
      }
    }
    await this.#segment.close();
    if (this.#failure !== undefined) {
      await this.#segment.cutUnacknowledgedTail();
      await beforeFinalCheck();
      this.#settler.assertSettledThrough(this.#nextSeq - 1);
      throw this.#failure;
    }
    await this.#segment.trimPreallocation();
    // Last, so a broken invariant never leaves the segment open or an unacknowledged tail uncut.
    await beforeFinalCheck();
    this.#settler.assertSettledThrough(this.#nextSeq - 1);
  }

  get failure(): StoreFailedError | undefined {
    return this.#failure;
  }

  get lastSeq(): number {
    return this.#lastCommittedSeq;
  }

  get walBytes(): number {
    return this.#segment.walBytes;
  }

  /** The segment being appended to, as far as it is written (undefined before the first one exists). */
  get liveSegment(): Readonly<WalSegment> | undefined {
    return this.#segment.lastSegment;
  }

  get segmentCount(): number {
    return this.#segment.segmentCount;
  }

  /** Whether the mailbox takes `writes` more writes of `bytes` in all now, none refused. */
  hasRoomFor(writes: number, bytes: number): boolean {
    const { mailboxWritesMax, mailboxBytesMax } = this.#options;
    return this.#mailbox.length + writes <= mailboxWritesMax && this.#mailboxBytes + bytes <= mailboxBytesMax;
  }

  get pendingWrites(): number {
    return this.#mailbox.length;
  }

  #enqueueAppend(request: WriteRequest): void {
    const refusal = this.#refusal(request);
    if (refusal === undefined) this.#enqueue(request, request.recordBytes);
    else this.#settler.refuse(request, refusal);
  }

  /** Why the mailbox cannot take `request` now, if it cannot: failed, closed, or full. */
  #refusal(request: WriteRequest): Error | undefined {
    if (this.#failure !== undefined) return this.#failure;
    if (this.#closed) return new StoreClosedError();
    const { mailboxWritesMax, mailboxBytesMax } = this.#options;
    if (this.#mailbox.length >= mailboxWritesMax || this.#mailboxBytes + request.recordBytes > mailboxBytesMax) {
      return new StoreOverloadedError(`the WAL mailbox is full (${this.#mailbox.length} writes, ${this.#mailboxBytes} bytes queued)`);
    }
    return undefined;
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
        } else if (head.kind === 'syncMarker') {
          this.#mailbox.shift();
          await this.#writeSyncMarker(head.aligned);
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
    if (this.#segment.full) {
      await this.#rotate();
      if (this.#failure !== undefined) return;
    }
    const head = this.#mailbox.peekFront();
    if (head !== undefined && isWrite(head) && head.intent !== undefined && this.#uncommittedDeleteRange()) {
      // Which keys a range delete removes is known only once it is applied: let it apply first.
      await this.#waitForSyncs();
      if (this.#failure !== undefined) return;
    }
    let group: WrittenGroup;
    try {
      group = this.#takeGroup();
    } catch (error) {
      // A broken invariant while sequencing: nothing of this group was written; fail, never hang.
      this.#fail(error, 'sequencing', []);
      return;
    }
    if (group.requests.length === 0) return; // every write taken resolved to no record
    // What the last completed fsync covered, read now: a sync finishing later only makes it an
    // understatement, which recovery tolerates; an overstatement would call a power loss corruption.
    const claimedBytes = this.#segment.durableBytes;
    let buffer: Buffer;
    try {
      const offset = this.#segment.bytes;
      buffer = this.#encodeGroup(group, offset, claimedBytes);
      // Only a group that passes the zeros awaits: an await per group costs the non-durable hot path.
      if (this.#segment.passesPreallocation(offset + buffer.byteLength)) await this.#segment.preallocate(offset + buffer.byteLength);
      await this.#segment.append(buffer);
    } catch (error) {
      this.#fail(error, 'write', [group]);
      return;
    }
    if (this.#failure !== undefined) {
      // An fsync failed while this group was being written: it will never be synced.
      this.#settler.rejectWritten(group, this.#failure);
      return;
    }
    this.#segment.appended(buffer.byteLength, claimedBytes);
    this.#bus.publish({ type: 'wal.groupWritten', records: group.requests.length, bytes: buffer.byteLength });
    if (this.#options.sync === 'always') {
      this.#unsynced.push(group);
      this.#kickSync();
    } else {
      this.#commit([group]);
    }
  }

  /**
   * Takes the queued writes for one group and gives them their seqs. A write with an intent is
   * resolved here, against every write sequenced before it (the memtable plus the groups not yet
   * committed): this is the moment that orders it. One that resolves to no record is settled once
   * the seq before it commits.
   */
  #takeGroup(): WrittenGroup {
    const firstSeq = this.#nextSeq;
    const requests: WriteRequest[] = [];
    let bytes = 0;
    let view: SequencedView | undefined;
    let groupHasDeleteRange = false;
    for (let head = this.#mailbox.peekFront(); head !== undefined && isWrite(head); head = this.#mailbox.peekFront()) {
      if (requests.length > 0 && bytes + head.recordBytes > groupBytesMax) break;
      const seq = firstSeq + requests.length;
      if (head.intent !== undefined) {
        // A range delete before it, in this group or not yet applied: resolved in a later group,
        // once the range delete has applied (the head waits for that in #writeNextGroup).
        if (groupHasDeleteRange || (view === undefined && requests.length > 0 && this.#uncommittedDeleteRange())) break;
        view ??= this.#sequencedView(requests, firstSeq);
        this.#mailbox.shift();
        this.#mailboxBytes -= head.recordBytes;
        if (!this.#resolve(head, view, seq)) continue;
      } else {
        this.#mailbox.shift();
        this.#mailboxBytes -= head.recordBytes;
        // The view cannot follow a range delete; no intent after it joins this group anyway.
        if (hasDeleteRange(head.ops)) groupHasDeleteRange = true;
      }
      if (!groupHasDeleteRange) view?.add(head.ops, seq);
      requests.push(head);
      bytes += head.recordBytes;
    }
    this.#nextSeq += requests.length;
    return { firstSeq, requests };
  }

  /** Resolves an intent into its record's ops; false when it writes no record (settled later). */
  #resolve(request: WriteRequest, view: SequencedView, seq: number): boolean {
    const intent = request.intent;
    assert(intent !== undefined, 'only a write with an intent is resolved');
    // Expired means expired when the write is sequenced: the clock may have passed a key's time
    // since the call (a wait for an fsync, a full mailbox), and every read already hides it. The
    // store's clock never goes back, so it is at least the call's time.
    const resolution = resolveIntent(intent, view.get, seq, this.#options.now, this.#options.binaryValues);
    if (resolution.ok && resolution.ops.length > 0) {
      request.ops = resolution.ops;
      request.recordBytes = walRecordBytes(resolution.ops);
      // `increment` resolves its new value; a batch with increments, its WriteResult.
      if (request.kind === 'increment') request.value = resolution.value;
      return true;
    }
    const outcome: WriteResult | Error = resolution.ok
      ? { ok: true, seq: seq - 1 }
      : 'error' in resolution
        ? resolution.error
        : { ok: false, conflicts: resolution.conflicts };
    this.#settleAfter({ request, afterSeq: seq - 1, outcome });
    return false;
  }

  /** The state as of `firstSeq + requests.length - 1`: the memtable, then every uncommitted record. */
  #sequencedView(requests: readonly WriteRequest[], firstSeq: number): SequencedView {
    const view = new SequencedView(this.#options.lookup);
    let seq = this.#lastCommittedSeq;
    for (const request of this.#uncommitted()) view.add(request.ops, ++seq);
    assert(seq === firstSeq - 1, `uncommitted records end at ${seq}, the group starts at ${firstSeq}`);
    for (let index = 0; index < requests.length; index++) view.add(requests[index].ops, firstSeq + index);
    return view;
  }

  #uncommittedDeleteRange(): boolean {
    return this.#uncommitted().some((request) => hasDeleteRange(request.ops));
  }

  /** Records written but not yet committed (applied to the memtable), in seq order. */
  #uncommitted(): WriteRequest[] {
    const groups = [...this.#syncingGroups, ...this.#unsynced];
    return groups.length === 0 ? [] : groups.flatMap((group) => group.requests);
  }

  #settleAfter(unwritten: UnwrittenWrite): void {
    if (unwritten.afterSeq <= this.#lastCommittedSeq) this.#settler.settleUnwritten(unwritten.request, unwritten.outcome);
    else this.#unwritten.push(unwritten);
  }

  /** Encodes a group that will be written at `offset` of the current segment, its records claiming `durableBytes`. */
  #encodeGroup(group: WrittenGroup, offset: number, durableBytes: number): Buffer {
    let bytes = 0;
    for (const request of group.requests) bytes += request.recordBytes;
    const buffer = Buffer.allocUnsafe(bytes);
    let at = 0;
    const { firstSeq, requests } = group;
    assert(durableBytes <= offset, `durable bytes ${durableBytes} past the write offset ${offset}`);
    for (let index = 0; index < requests.length; index++) {
      at = encodeWalRecord(buffer, at, firstSeq + index, requests[index].ops, durableBytes);
    }
    assert(at === bytes, `encoded ${at} bytes, measured ${bytes}`);
    return buffer;
  }

  #enqueueSyncMarker(aligned: boolean): void {
    if (this.#syncMarkerQueued) return;
    this.#syncMarkerQueued = true;
    this.#enqueue({ kind: 'syncMarker', aligned }, 0);
  }

  /**
   * Appends a sync marker claiming what the last completed fsync made durable of the records, if
   * nothing claims it yet. The marker proves nothing until it is durable itself: under 'interval' the
   * next periodic fsync takes it, at close the final one. A close's is aligned (see wal-format.ts);
   * an interval's is not, as padding to a block per second would multiply a slow writer's WAL.
   */
  async #writeSyncMarker(aligned: boolean): Promise<void> {
    this.#syncMarkerQueued = false;
    const claimedBytes = this.#segment.syncMarkerClaim(aligned);
    if (claimedBytes === undefined) return;
    const offset = this.#segment.bytes;
    const buffer = aligned ? encodeAlignedSyncMarker(offset, claimedBytes, syncMarkerAlignBytes) : Buffer.allocUnsafe(walSyncMarkerBytes);
    if (!aligned) encodeSyncMarker(buffer, 0, claimedBytes);
    assert(claimedBytes <= offset, `a sync marker at ${offset} claims ${claimedBytes} durable bytes`);
    try {
      if (this.#segment.passesPreallocation(offset + buffer.byteLength)) await this.#segment.preallocate(offset + buffer.byteLength);
      await this.#segment.append(buffer);
    } catch (error) {
      this.#fail(error, 'write', []);
      return;
    }
    if (this.#failure === undefined) this.#segment.markerAppended(buffer.byteLength, claimedBytes, aligned);
  }

  /** Runs an fsync of everything written so far and waits until the WAL is idle again. */
  async #syncUntilIdle(): Promise<void> {
    this.#syncWanted = true;
    this.#kickSync();
    await this.#waitUntilIdle();
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
        this.#syncingGroups = groups;
        this.#syncWanted = false;
        const startedAtMs = performance.now();
        const coveredBytes = this.#segment.bytes;
        try {
          await this.#segment.sync();
        } catch (error) {
          this.#fail(error, 'fsync', groups);
          return;
        }
        this.#syncingGroups = [];
        this.#segment.synced(coveredBytes);
        // Under 'interval' records written before this fsync may be the last for a while: prove them.
        if (this.#options.sync === 'interval' && this.#segment.syncMarkerClaim(false) !== undefined) this.#enqueueSyncMarker(false);
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
    const unwritten = this.#unwritten.length > 0 ? this.#takeUnwrittenThrough(this.#lastCommittedSeq) : undefined;
    this.#bus.publish({ type: 'wal.committed', run: unwritten === undefined ? { firstSeq, requests } : { firstSeq, requests, unwritten } });
    // The writers this commit acknowledged send their next writes from promise callbacks; a tick
    // runs once every such callback has, so it finds them all queued: one group, written at once,
    // without the trip through the event loop's check phase (where a snapshot slice may be first).
    process.nextTick(() => {
      if (this.#mailbox.length > 0) this.#startWriting();
    });
  }

  /**
   * The writes without a record whose preceding seq is now committed (they wait in seq order): they
   * ride with the run, and the settler answers each between the records around it.
   */
  #takeUnwrittenThrough(lastSeq: number): UnwrittenWrite[] | undefined {
    let count = 0;
    while (count < this.#unwritten.length && this.#unwritten[count].afterSeq <= lastSeq) count++;
    return count === 0 ? undefined : this.#unwritten.splice(0, count);
  }

  #startWriting(): void {
    if (!this.#writing) void this.#writeLoop();
  }

  /** The snapshot barrier: every earlier write committed, a fresh segment, then `wal.rotated` at once. */
  async #rotateAtBarrier(requestId: number, freezeMemtable: boolean): Promise<void> {
    await this.#waitForSyncs();
    const current = this.#segment.lastSegment;
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
      await this.#segment.rotate(this.#nextSeq);
      this.#syncWanted = false; // the old segment was just synced; the new one holds nothing yet
    } catch (error) {
      this.#fail(error, 'segment rotation', []);
    } finally {
      this.#rotating = false;
    }
  }

  /**
   * Moves the segments a snapshot at `upToSeq` covers into retention, which keeps those with a record
   * after `keepAfterSeq` (an older generation replays them), and reports what it deleted.
   */
  async #compact(requestId: number, upToSeq: number, keepAfterSeq: number): Promise<void> {
    try {
      const segmentsDeleted = await this.#retention.retain(this.#segment.takeCovered(upToSeq), keepAfterSeq);
      this.#bus.publish({ type: 'wal.compacted', requestId, segmentsDeleted });
    } catch (error) {
      // A covered segment left behind is harmless (recovery skips it); report, do not fail the store.
      this.#bus.publish({ type: 'wal.compacted', requestId, segmentsDeleted: 0, error: error as Error });
    }
  }

  /**
   * The first failure fails the store for good (fsyncgate): `groups` (written, never to be synced),
   * every unsynced group and every queued write are rejected, and nothing is retried.
   */
  #fail(cause: unknown, during: string, groups: readonly WrittenGroup[]): void {
    if (this.#failure === undefined) {
      const diskFull = fsErrorCode(cause) === 'ENOSPC';
      const message = diskFull
        ? `the disk is full (ENOSPC during ${during}): the store accepts no more writes; free space, then close and reopen it`
        : `WAL ${during} failed (${fsErrorCode(cause) ?? 'error'}): the store accepts no more writes; close and reopen it`;
      this.#failure = new StoreFailedError(message, { cause });
      this.#bus.publish({ type: 'wal.failed', error: this.#failure });
    }
    for (const group of groups) this.#settler.rejectWritten(group, this.#failure);
    for (const group of this.#unsynced) this.#settler.rejectWritten(group, this.#failure);
    this.#unsynced = [];
    this.#syncingGroups = [];
    // Their answers were read off records that will never be durable.
    for (const { request } of this.#unwritten.splice(0)) this.#settler.refuse(request, this.#failure);
    this.#rejectMailbox(this.#failure);
  }

  #rejectMailbox(error: Error): void {
    while (this.#mailbox.length > 0) {
      const item = this.#mailbox.shift();
      if (item === undefined) break;
      if (item.kind === 'rotate') this.#bus.publish({ type: 'wal.rotateFailed', requestId: item.requestId, error });
      else if (isWrite(item)) this.#settler.refuse(item, error);
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

function isWrite(item: MailboxItem): item is WriteRequest {
  return item.kind !== 'rotate' && item.kind !== 'syncMarker';
}
