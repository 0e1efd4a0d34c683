import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CoveredSegment } from '../types.js';
import type { FileSystem } from '../fs/file-system.js';

export interface RetentionOptions {
  fs: FileSystem;
  dir: string;
  /** Keep segments a snapshot covers this long before deleting them (history for `changes()`). */
  walRetentionMs: number;
}

/**
 * WAL segments a durable snapshot covers, kept for `walRetentionMs` from when they were covered so
 * `changes()` can still replay them, and for as long as an older snapshot generation needs them (a
 * record after `keepAfterSeq`), then deleted. Deleting is clean-up: a covered segment left behind is
 * harmless (recovery skips it).
 */
export class Retention {
  readonly #options: RetentionOptions;
  #retained: Array<CoveredSegment & { coveredAtMs: number }>;
  /** Segments with a record after this seq are kept: the oldest snapshot generation replays them. */
  #keepAfterSeq: number;
  #pruneTimer: NodeJS.Timeout | undefined;
  #pruning: Promise<unknown> = Promise.resolve();
  #trimming: Promise<unknown> = Promise.resolve();
  #stopped = false;

  /** `covered`: segments recovery found covered by the snapshot; their retention starts now. */
  constructor(options: RetentionOptions, covered: readonly CoveredSegment[], keepAfterSeq: number) {
    this.#options = options;
    this.#keepAfterSeq = keepAfterSeq;
    const coveredAtMs = performance.now();
    this.#retained = covered.map((segment) => ({ ...segment, coveredAtMs }));
  }

  /** Deletes the recovered covered segments whose retention has passed, in the background. */
  start(): void {
    if (this.#retained.length > 0) this.#pruning = this.#prune().catch(() => undefined);
  }

  /**
   * Keeps `segments`, just covered by a snapshot, and keeps from now on only what holds a record
   * after `keepAfterSeq`; resolves with how many segments were deleted.
   */
  async retain(segments: readonly CoveredSegment[], keepAfterSeq: number): Promise<number> {
    const coveredAtMs = performance.now();
    this.#keepAfterSeq = Math.max(this.#keepAfterSeq, keepAfterSeq);
    for (const segment of segments) this.#retained.push({ ...segment, coveredAtMs });
    const pruning = this.#prune();
    this.#pruning = pruning.catch(() => undefined);
    this.#trimming = Promise.all([
      this.#trimming,
      pruning.then(
        () => this.#trimZeroTails(segments),
        () => undefined,
      ),
    ]);
    return pruning;
  }

  /**
   * Cuts the zeros preallocated past the records of segments that stay on disk for an older
   * generation or for retention: a segment rotated at a snapshot barrier may be mostly zeros, and a
   * kept one would hold them until the next snapshot. Best effort, off the write path: the zeros are
   * harmless (they read as the segment's clean end), and only bytes past `bytes` are cut.
   */
  async #trimZeroTails(segments: readonly CoveredSegment[]): Promise<void> {
    for (const segment of segments) {
      if (this.#stopped || !this.#retained.some((kept) => kept.name === segment.name)) continue;
      const segmentPath = path.join(this.#options.dir, segment.name);
      try {
        if ((await this.#options.fs.size(segmentPath)) > segment.bytes) await this.#options.fs.truncate(segmentPath, segment.bytes);
      } catch {
        // Deleted meanwhile, or the cut failed: the zeros stay, harmless.
      }
    }
  }

  /** Stops the prune timer and waits for a prune under way: none runs once this resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pruneTimer);
    await this.#pruning;
    await this.#trimming;
  }

  /** Deletes the covered segments whose retention has passed; checks again later for the rest. */
  async #prune(): Promise<number> {
    clearTimeout(this.#pruneTimer);
    const deadlineMs = performance.now() - this.#options.walRetentionMs;
    const expires = (segment: CoveredSegment & { coveredAtMs: number }) =>
      segment.coveredAtMs <= deadlineMs && segment.lastSeq <= this.#keepAfterSeq;
    const expired = this.#retained.filter(expires);
    this.#retained = this.#retained.filter((segment) => !expires(segment));
    for (const segment of expired) await this.#options.fs.unlink(path.join(this.#options.dir, segment.name));
    if (expired.length > 0) await this.#options.fs.syncDir(this.#options.dir);
    // Only time can free a segment no generation needs; the others wait for the next snapshot's retain().
    const waitingOnTime = this.#retained.some((segment) => segment.lastSeq <= this.#keepAfterSeq);
    if (waitingOnTime && !this.#stopped) {
      this.#pruneTimer = setTimeout(() => {
        this.#pruning = this.#prune().catch(() => undefined);
      }, this.#options.walRetentionMs);
      this.#pruneTimer.unref();
    }
    return expired.length;
  }
}
