import type { SnapshotResult } from '../types.js';

/** Messages the snapshot actor takes and publishes. */
export type SnapshotMessage =
  | { type: 'snapshot.request'; requestId: number; reason: 'manual' | 'auto' }
  /** A snapshot written into another directory, as a store of its own: no compaction, no 'snapshot' event. */
  | { type: 'backup.request'; requestId: number; toDir: string }
  | { type: 'backup.completed'; requestId: number; result: SnapshotResult }
  | { type: 'backup.failed'; requestId: number; error: Error }
  | { type: 'snapshot.started'; requestId: number; seq: number }
  | { type: 'snapshot.completed'; requestId: number; result: SnapshotResult }
  | { type: 'snapshot.failed'; requestId: number; error: Error };
