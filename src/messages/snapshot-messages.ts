import type { SnapshotResult } from '../types.js';

/** Messages the snapshot actor takes and publishes. */
export type SnapshotMessage =
  | { type: 'snapshot.request'; requestId: number; reason: 'manual' | 'auto' }
  | { type: 'snapshot.started'; requestId: number; seq: number }
  | { type: 'snapshot.completed'; requestId: number; result: SnapshotResult }
  | { type: 'snapshot.failed'; requestId: number; error: Error };
