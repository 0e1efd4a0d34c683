import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WalSegment } from '../types.js';
import type { FileSystem } from '../fs/file-system.js';

export interface RetentionOptions {
  fs: FileSystem;
  dir: string;
  /** Keep segments a snapshot covers this long before deleting them (history for `changes()`). */
  walRetentionMs: number;
}

/**
 * WAL segments a durable snapshot covers, kept for `walRetentionMs` from when they were covered so
 * `changes()` can still replay them, then deleted. Deleting is clean-up: a covered segment left
 * behind is harmless (recovery skips it).
 */
export class Retention {
  readonly #options: RetentionOptions;
  #retained: Array<WalSegment & { coveredAtMs: number }>;
  #pruneTimer: NodeJS.Timeout | undefined;
  #pruning: Promise<unknown> = Promise.resolve();
  #stopped = false;

  /** `covered`: segments recovery found covered by the snapshot; their retention starts now. */
  constructor(options: RetentionOptions, covered: readonly WalSegment[]) {
    this.#options = options;
    const coveredAtMs = performance.now();
    this.#retained = covered.map((segment) => ({ ...segment, coveredAtMs }));
  }

  /** Deletes the recovered covered segments whose retention has passed, in the background. */
  start(): void {
    if (this.#retained.length > 0) this.#pruning = this.#prune().catch(() => undefined);
  }

  /** Keeps `segments`, just covered by a snapshot; resolves with how many segments were deleted. */
  async retain(segments: readonly WalSegment[]): Promise<number> {
    const coveredAtMs = performance.now();
    for (const segment of segments) this.#retained.push({ ...segment, coveredAtMs });
    const pruning = this.#prune();
    this.#pruning = pruning.catch(() => undefined);
    return pruning;
  }

  /** Stops the prune timer and waits for a prune under way: none runs once this resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#pruneTimer);
    await this.#pruning;
  }

  /** Deletes the covered segments whose retention has passed; checks again later for the rest. */
  async #prune(): Promise<number> {
    clearTimeout(this.#pruneTimer);
    const deadlineMs = performance.now() - this.#options.walRetentionMs;
    const expired = this.#retained.filter((segment) => segment.coveredAtMs <= deadlineMs);
    this.#retained = this.#retained.filter((segment) => segment.coveredAtMs > deadlineMs);
    for (const segment of expired) await this.#options.fs.unlink(path.join(this.#options.dir, segment.name));
    if (expired.length > 0) await this.#options.fs.syncDir(this.#options.dir);
    if (this.#retained.length > 0 && !this.#stopped) {
      this.#pruneTimer = setTimeout(() => {
        this.#pruning = this.#prune().catch(() => undefined);
      }, this.#options.walRetentionMs);
      this.#pruneTimer.unref();
    }
    return expired.length;
  }
}
