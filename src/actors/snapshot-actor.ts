import { filter, firstValueFrom, takeUntil } from 'rxjs';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { Bus } from '../messages/index.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import type { FrozenView, SnapshotResult } from '../types.js';
import { SnapshotEncoder } from '../format/snapshot-format.js';
import { entryBatches, sortedEntryBatches } from '../memtable/sorted-entries.js';
import { readSnapshotEntries } from '../format/snapshot-reader.js';
import { classifyDirectory, keepWalAfterSeq, snapshotName, temporarySuffix } from '../format/file-names.js';
import { snapshotSliceMs, snapshotWriteChunkBytes } from '../limits.js';
import { assert } from '../errors.js';

export interface SnapshotActorOptions {
  fs: FileSystem;
  dir: string;
  /** Snapshots kept, each with the WAL since it (see `keepWalAfterSeq`). */
  snapshotGenerations: number;
  /** Bytes of entries per block: what one damaged byte can cost (see `snapshotBlockBytesDefault`). */
  snapshotBlockBytes: number;
}

/**
 * Writes snapshots and compacts the WAL behind them. One snapshot runs at a time; requests queue.
 *
 * The order is what makes it crash-safe:
 *   1. barrier: the WAL actor commits everything before it, starts a new segment at seq S + 1, and
 *      the memtable freezes its map as of S (writes go on, into an overlay);
 *   2. the frozen map is written in checksummed blocks to `snap-S.snap.tmp`, yielding to the event
 *      loop between slices so a large snapshot does not freeze the process;
 *   3. fsync the file and read it back, checking every block: a snapshot that does not read back is
 *      dropped (the WAL still holds everything), never renamed into place;
 *   4. rename it to `snap-S.snap`, fsync the directory: now the snapshot is durable;
 *   5. only then delete what no kept generation needs: snapshots beyond `snapshotGenerations`, and
 *      the WAL segments wholly before the oldest one kept.
 * A crash anywhere leaves either the old snapshot with its WAL, or the new one: never neither. With
 * two generations (the default) the previous snapshot and the WAL since it outlive the newest one's
 * first damage, so `repair` can restore every write.
 */
export class SnapshotActor {
  readonly #bus: Bus;
  readonly #options: SnapshotActorOptions;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #nextRequestId = 1;
  #lastSnapshotSeq: number;

  constructor(bus: Bus, options: SnapshotActorOptions, lastSnapshotSeq: number) {
    this.#bus = bus;
    this.#options = options;
    this.#lastSnapshotSeq = lastSnapshotSeq;
    bus
      .on('snapshot.request')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ requestId }) => this.#enqueue(() => this.#run(requestId)));
    bus
      .on('backup.request')
      .pipe(takeUntil(bus.stop$))
      .subscribe(({ requestId, toDir }) => this.#enqueue(() => this.#backup(requestId, toDir)));
  }

  #enqueue(task: () => Promise<void>): void {
    this.#pending++;
    this.#queue = this.#queue.then(task).finally(() => this.#pending--);
  }

  get lastSnapshotSeq(): number {
    return this.#lastSnapshotSeq;
  }

  get inProgress(): boolean {
    return this.#pending > 0;
  }

  /** Resolves once every queued snapshot has finished (successfully or not). */
  async idle(): Promise<void> {
    while (this.#pending > 0) await this.#queue;
  }

  async #run(requestId: number): Promise<void> {
    const startedAtMs = performance.now();
    try {
      const view = await this.#barrier();
      this.#bus.publish({ type: 'snapshot.started', requestId, seq: view.seq });
      const written = await this.#writeDurably(view, this.#options.dir, true);
      this.#lastSnapshotSeq = view.seq;
      await this.#compact(view.seq);
      const result: SnapshotResult = { ...written, seq: view.seq, durationMs: performance.now() - startedAtMs };
      this.#bus.publish({ type: 'snapshot.completed', requestId, result });
    } catch (error) {
      this.#bus.publish({ type: 'snapshot.failed', requestId, error: error as Error });
    }
  }

  /**
   * A backup: the frozen view written as the only snapshot of `toDir`, which then opens as a store
   * at that seq. The same barrier, checks and durable rename as a snapshot, but the store's own
   * files are untouched (no compaction), and a failure (say the backup's disk is full) fails the
   * backup, never the store.
   */
  async #backup(requestId: number, toDir: string): Promise<void> {
    const startedAtMs = performance.now();
    try {
      const view = await this.#barrier();
      const written = await this.#writeDurably(view, toDir, false);
      const result: SnapshotResult = { ...written, seq: view.seq, durationMs: performance.now() - startedAtMs };
      this.#bus.publish({ type: 'backup.completed', requestId, result });
    } catch (error) {
      this.#bus.publish({ type: 'backup.failed', requestId, error: error as Error });
    }
  }

  /** Asks the WAL for a barrier and waits for the memtable's frozen view at it. */
  async #barrier(): Promise<FrozenView> {
    const requestId = this.#nextRequestId++;
    const reply = firstValueFrom(
      this.#bus.on('memtable.frozen', 'wal.rotateFailed').pipe(filter((message) => message.requestId === requestId)),
    );
    this.#bus.publish({ type: 'wal.rotate', requestId, freezeMemtable: true });
    const message = await reply;
    if (message.type === 'wal.rotateFailed') throw message.error;
    return message.view;
  }

  /** `ownDir`: the store's own directory, where an I/O failure leaves the store unsafe to write (it halts the WAL). */
  async #writeDurably(view: FrozenView, dir: string, ownDir: boolean): Promise<{ keys: number; bytes: number }> {
    const { fs } = this.#options;
    const finalPath = path.join(dir, snapshotName(view.seq));
    const temporaryPath = finalPath + temporarySuffix;
    let written: { keys: number; bytes: number };
    try {
      written = await this.#writeFile(temporaryPath, view);
    } catch (error) {
      if (ownDir) this.#bus.publish({ type: 'wal.halt', error, during: 'snapshot write' });
      await fs.unlink(temporaryPath).catch(() => undefined);
      throw error;
    }
    try {
      await this.#readBack(temporaryPath, view.seq, written.keys);
    } catch (error) {
      // Nothing depends on it yet and the WAL holds everything: drop it, fail only this snapshot.
      await fs.unlink(temporaryPath).catch(() => undefined);
      throw error;
    }
    try {
      await fs.rename(temporaryPath, finalPath);
      await fs.syncDir(dir);
    } catch (error) {
      if (ownDir) this.#bus.publish({ type: 'wal.halt', error, during: 'snapshot rename' });
      throw error;
    }
    return written;
  }

  /** Writes and fsyncs the file; thaws the memtable as soon as the frozen map has been read. */
  async #writeFile(filePath: string, view: FrozenView): Promise<{ keys: number; bytes: number }> {
    let thawed = false;
    const thaw = () => {
      if (!thawed) this.#bus.publish({ type: 'memtable.thaw' });
      thawed = true;
    };
    let handle: FileHandle | undefined;
    try {
      handle = await this.#options.fs.openAppend(filePath, 'truncate');
      const file = new CoalescedAppends(handle);
      const encoder = new SnapshotEncoder(view.seq, this.#options.snapshotBlockBytes);
      await file.append(encoder.header());
      const keys = await this.#writeEntries(view, encoder, (data) => file.append(data));
      thaw();
      for (const part of encoder.finish()) await file.append(part);
      await file.flush();
      await handle.sync();
      return { keys, bytes: file.bytes };
    } finally {
      thaw();
      await handle?.close().catch(() => undefined);
    }
  }

  /** Reads the written file back, checking every block, its entry count and its seq. */
  async #readBack(filePath: string, seq: number, keys: number): Promise<void> {
    const handle = await this.#options.fs.openRead(filePath);
    try {
      const read = await readSnapshotEntries(handle, path.basename(filePath));
      assert(read.seq === seq && read.entries === keys, `snapshot read back at seq ${read.seq} with ${read.entries} entries`);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Encodes the frozen map block by block, yielding to the event loop every `snapshotSliceMs` so
   * writers keep committing while a large snapshot runs.
   */
  async #writeEntries(view: FrozenView, encoder: SnapshotEncoder, append: (data: Buffer) => Promise<void>): Promise<number> {
    let keys = 0;
    let sliceStartedAtMs = performance.now();
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    // Key order, the same everywhere (API, CLI, snapshot files): recovery then fills the map in
    // order, and a salvage's first and last lost key bound the keys it lost.
    const batches = view.ordered === undefined ? sortedEntryBatches(view.map, pause) : entryBatches(view.ordered);
    for await (const batch of batches) {
      for (const [key, value] of batch) {
        const sealed = encoder.add(key, value);
        if (sealed !== undefined) await append(sealed);
        keys++;
        // Reading the clock every entry would cost more than the check saves; every 64 entries keeps
        // a slice within about twice snapshotSliceMs.
        if ((keys & 63) === 0 && performance.now() - sliceStartedAtMs >= snapshotSliceMs) {
          await pause();
          sliceStartedAtMs = performance.now();
        }
      }
    }
    assert(encoder.totalEntries === keys, 'the encoder holds every entry');
    return keys;
  }

  /**
   * Deletes what no kept generation needs once the snapshot at `seq` is durable: WAL segments wholly
   * before the oldest snapshot kept, then the snapshots beyond `snapshotGenerations`. Both are
   * clean-up: a failure leaves a file behind, harmless (recovery picks the newest snapshot and skips
   * covered segments; the next snapshot tries again), so it does not fail the snapshot.
   */
  async #compact(seq: number): Promise<void> {
    const { fs, dir, snapshotGenerations } = this.#options;
    let snapshots: Array<{ name: string; seq: number }>;
    try {
      snapshots = classifyDirectory(await fs.readdir(dir)).snapshots.filter((snapshot) => snapshot.seq <= seq);
    } catch {
      return; // See above: left for the next snapshot.
    }
    assert(snapshots[0]?.seq === seq, `the snapshot at ${seq} is the newest on disk`);
    const requestId = this.#nextRequestId++;
    const reply = firstValueFrom(this.#bus.on('wal.compacted').pipe(filter((message) => message.requestId === requestId)));
    const keepAfterSeq = keepWalAfterSeq(snapshots, snapshotGenerations);
    this.#bus.publish({ type: 'wal.compact', requestId, upToSeq: seq, keepAfterSeq });
    await reply;
    try {
      const beyond = snapshots.slice(snapshotGenerations);
      for (const snapshot of beyond) await fs.unlink(path.join(dir, snapshot.name));
      if (beyond.length > 0) await fs.syncDir(dir);
    } catch {
      // See above: left for the next snapshot.
    }
  }
}

/**
 * Gathers small appends into writes of `snapshotWriteChunkBytes`: blocks are small so that damage
 * costs little, and should not cost a write call each. Copies what it is given, so a caller may
 * reuse its buffer as soon as `append` resolves.
 */
class CoalescedAppends {
  readonly #file: FileHandle;
  /** Starts small and doubles up to snapshotWriteChunkBytes: a small snapshot allocates little. */
  #chunk = Buffer.allocUnsafe(64 * 1024);
  #used = 0;
  bytes = 0;

  constructor(file: FileHandle) {
    this.#file = file;
  }

  async append(data: Buffer): Promise<void> {
    this.bytes += data.byteLength;
    if (this.#used + data.byteLength > this.#chunk.byteLength) {
      await this.flush();
      if (this.#chunk.byteLength < snapshotWriteChunkBytes) this.#chunk = Buffer.allocUnsafe(this.#chunk.byteLength * 2);
    }
    if (data.byteLength >= this.#chunk.byteLength) {
      await this.#file.append(data);
      return;
    }
    data.copy(this.#chunk, this.#used);
    this.#used += data.byteLength;
  }

  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#file.append(this.#chunk.subarray(0, this.#used));
    this.#used = 0;
  }
}
