import type { StoreState } from './lifecycle.js';
import type { DamageReport, RecoveryReport } from './recovery/report.js';
import type { SnapshotResult } from './types.js';

/** The store's Node-style events (`store.on(name, listener)`), with their listener arguments. */
export interface StoreEvents {
  /** Each lifecycle transition. */
  state: [state: StoreState];
  /** A failure the caller of a method did not see: an automatic snapshot failing, the store failing. */
  error: [error: Error];
  /** Recovery finished (pass a listener in `options.listeners` to hear it). */
  recovery: [report: RecoveryReport];
  /** Recovery cut off a torn tail: an incomplete last record that was never acknowledged. */
  'torn-tail': [damage: DamageReport];
  /** A snapshot (manual or automatic) is durable and the WAL behind it compacted. */
  snapshot: [result: SnapshotResult];
}

/** One completed operation, as `operations$` emits it. */
export interface OperationEvent {
  type: 'put' | 'delete' | 'batch' | 'deleteRange' | 'increment' | 'expire' | 'snapshot';
  key?: string;
  /** Operations in a batch. */
  count?: number;
  seq: number;
  durationMs: number;
  /** Bytes written: the WAL record, or the snapshot file. */
  bytes: number;
}
