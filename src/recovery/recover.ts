import { performance } from 'node:perf_hooks';
import type { FileSystem } from '../fs/file-system.js';
import type { CoveredSegment, KeyRange, PendingBlock, StoredEntry, StoredValue, WalSegment } from '../types.js';
import { planRecovery, type RecoverySink } from './plan.js';
import { visitEntries, type EntryFormat } from '../format/snapshot-format.js';
import type { SnapshotBlockVisitor } from '../format/snapshot-reader.js';
import { applyPlan } from './apply.js';
import type { RecoveryReport } from './report.js';

export type { DamageReport, RecoveryReport, RepairedDamage } from './report.js';

export interface Recovered {
  map: Map<string, StoredEntry>;
  lastSeq: number;
  snapshotSeq: number;
  segments: WalSegment[];
  /** Segments the snapshot covers, kept on disk for an older snapshot generation or for `retainCovered`. */
  coveredSegments: CoveredSegment[];
  /** Records after this seq stay on disk: the oldest kept snapshot generation replays them. */
  keepAfterSeq: number;
  report: RecoveryReport;
}

export interface RecoveryOptions {
  fs: FileSystem;
  dir: string;
  fromBytes: (bytes: Buffer, start: number, end: number) => StoredValue;
  /** 'open' cuts a torn tail; 'repair' also cuts at corruption. */
  mode: 'open' | 'repair';
  /** Keep the segments the snapshot covers instead of deleting them (WAL history retention). */
  retainCovered?: boolean;
  /**
   * What the replay writes through into the map: the memtable layer's `ReplayTarget`, which applies
   * deleteRange records in key order (recovery does not know key order). When it takes pending
   * blocks (`addPending`), the snapshot's blocks go there undecoded, except those holding an expiry.
   */
  replayTarget: (map: Map<string, StoredEntry>) => ReplayTarget;
  /** Snapshots kept, each with the WAL since it (default 2). */
  snapshotGenerations?: number;
}

/** Newest valid snapshot, then every WAL record after it, into a map: `planRecovery`, then `applyPlan`. */
export async function recover(options: RecoveryOptions): Promise<Recovered> {
  const startedAtMs = performance.now();
  const map = new Map<string, StoredEntry>();
  const sink = mapSink(map, options);
  const plan = await planRecovery(options.fs, options.dir, sink, options.snapshotGenerations, options.mode);
  const applied = await applyPlan(plan, options);
  const report: RecoveryReport = {
    snapshot: plan.snapshot,
    segmentsRead: plan.segmentsRead,
    recordsReplayed: plan.recordsReplayed,
    bytesRead: plan.bytesRead,
    snapshotMs: plan.snapshotMs,
    walMs: plan.walMs,
    walBlockLoadMs: plan.walBlockLoadMs,
    tornTail: applied.tornTail,
    repaired: applied.repaired,
    removedFiles: applied.removedFiles,
    unknownFiles: plan.unknownFiles,
    durationMs: performance.now() - startedAtMs,
  };
  const { lastSeq, snapshotSeq, segments, keepAfterSeq } = plan;
  const { coveredSegments } = applied;
  return { map, lastSeq, snapshotSeq, segments, coveredSegments, keepAfterSeq, report };
}

function mapSink(map: Map<string, StoredEntry>, { fromBytes, replayTarget }: RecoveryOptions): RecoverySink {
  const target = replayTarget(map);
  const decodeInto = (payload: Buffer, format: EntryFormat, into: (key: string, entry: StoredEntry) => void) =>
    visitEntries(payload, format, (key, bytes, start, end, version, expiresAt) =>
      into(key, { value: fromBytes(bytes, start, end), version, expiresAt }),
    );
  // Lazy only while the file proves its order: each block's keys ascending, each block after the
  // last. A format 1 or 2 file (written in map order) decodes at once, as every file once did.
  let previousLastKey: Buffer | undefined;
  let ordered = target.addPending !== undefined;
  const block: SnapshotBlockVisitor | undefined = !ordered
    ? undefined
    : (payload, format, layout) => {
        ordered &&= layout.ascending && (previousLastKey === undefined || previousLastKey.compare(layout.firstKey) < 0);
        previousLastKey = layout.lastKey;
        if (!ordered) target.loadPending?.();
        // Entries with an expiry load now too: the expiry actor must see them at open.
        if (!ordered || layout.expiring) return void decodeInto(payload, format, (key, entry) => target.set(key, entry));
        const firstKey = layout.firstKey.toString('utf8');
        const lastKey = layout.lastKey.toString('utf8');
        target.addPending?.({ firstKey, lastKey, entries: layout.count, load: (into) => decodeInto(payload, format, into) });
      };
  return {
    blockLoadMs: () => target.pendingLoadMs?.() ?? 0,
    block,
    put: (key, bytes, start, end, expiresAt, version) => target.set(key, { value: fromBytes(bytes, start, end), version, expiresAt }),
    delete: (key) => target.delete(key),
    deleteRange: (range) => target.deleteRange(range),
    expire: (key, expiresAt, version) => {
      // Resolved against a key that existed; after a salvage that lost it, there is nothing to expire.
      const before = target.get(key);
      if (before !== undefined) target.set(key, { value: before.value, version, expiresAt });
    },
    clear: () => {
      target.clear();
      previousLastKey = undefined; // the next snapshot file proves its own order
      ordered = target.addPending !== undefined;
    },
  };
}

/** Where replayed writes go (see `RecoveryOptions.replayTarget`). */
export interface ReplayTarget {
  get(key: string): StoredEntry | undefined;
  set(key: string, entry: StoredEntry): void;
  delete(key: string): void;
  deleteRange(range: KeyRange): void;
  clear(): void;
  /** Takes a snapshot block to decode later. Optional: without it every entry is decoded at once. */
  addPending?(block: PendingBlock): void;
  /** Decodes every block it took, now (a later block proved the file is not in key order). */
  loadPending?(): void;
  /** Time spent decoding blocks it took, so far. */
  pendingLoadMs?(): number;
}
