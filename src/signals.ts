import type { StoreState } from './lifecycle.js';
import type { RecoveryReport } from './recovery/report.js';
import type { SnapshotResult } from './types.js';

/**
 * The engine's own signals, as `store.signals$` emits them: what an operator graphs at 3 a.m.
 * A subscriber first receives the `recovery` report of the open, then live signals.
 */
export type StoreSignal =
  /** One group commit: `records` writes in one WAL write of `bytes`; `walBytes` is the WAL's size after it. */
  | { type: 'group-commit'; records: number; bytes: number; walBytes: number }
  /** One fdatasync of the WAL and the records it made durable. */
  | { type: 'fsync'; records: number; latencyMs: number }
  | { type: 'snapshot-started'; seq: number }
  | { type: 'snapshot-finished'; result: SnapshotResult }
  | { type: 'snapshot-failed'; error: Error }
  | { type: 'recovery'; report: RecoveryReport }
  | { type: 'state'; state: StoreState };

export type StoreSignalType = StoreSignal['type'];
