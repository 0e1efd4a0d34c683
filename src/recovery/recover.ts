import { performance } from 'node:perf_hooks';
import type { FileSystem } from '../fs/file-system.js';
import type { CoveredSegment, KeyRange, StoredValue, WalSegment } from '../types.js';
import { planRecovery, type RecoverySink } from './plan.js';
import { applyPlan } from './apply.js';
import type { RecoveryReport } from './report.js';

export type { DamageReport, RecoveryReport, RepairedDamage } from './report.js';

export interface Recovered {
  map: Map<string, StoredValue>;
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
   * Applies a replayed deleteRange to the map (the memtable layer's `deleteRangeFromMap`: recovery
   * does not know key order).
   */
  deleteRange: (map: Map<string, StoredValue>, range: KeyRange) => void;
  /** Snapshots kept, each with the WAL since it (default 2). */
  snapshotGenerations?: number;
}

/** Newest valid snapshot, then every WAL record after it, into a map: `planRecovery`, then `applyPlan`. */
export async function recover(options: RecoveryOptions): Promise<Recovered> {
  const startedAtMs = performance.now();
  const map = new Map<string, StoredValue>();
  const sink = mapSink(map, options);
  const plan = await planRecovery(options.fs, options.dir, sink, options.snapshotGenerations, options.mode);
  const applied = await applyPlan(plan, options);
  const report: RecoveryReport = {
    snapshot: plan.snapshot,
    segmentsRead: plan.segmentsRead,
    recordsReplayed: plan.recordsReplayed,
    bytesRead: plan.bytesRead,
    tornTail: applied.tornTail,
    repaired: applied.repaired,
    removedFiles: applied.removedFiles,
    unknownFiles: plan.unknownFiles,
    durationMs: performance.now() - startedAtMs,
  };
  const { lastSeq, snapshotSeq, segments, keepAfterSeq } = plan;
  return { map, lastSeq, snapshotSeq, segments, coveredSegments: applied.coveredSegments, keepAfterSeq, report };
}

function mapSink(map: Map<string, StoredValue>, { fromBytes, deleteRange }: RecoveryOptions): RecoverySink {
  return {
    put: (key, bytes, start, end) => map.set(key, fromBytes(bytes, start, end)),
    delete: (key) => map.delete(key),
    deleteRange: (range) => deleteRange(map, range),
    clear: () => map.clear(),
  };
}
