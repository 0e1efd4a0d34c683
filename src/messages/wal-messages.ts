import type { DeleteRangeResult, EncodableOp, IncrementResult, WriteIntent, WriteKind, WriteResult } from '../types.js';
import type { StoreFailedError } from '../errors.js';

/**
 * One caller's write on its way through the WAL actor. Its ops become one WAL record (one seq);
 * `resolve` runs once the record is durable (per the sync policy) and applied to the memtable,
 * `reject` if it never will be. They are the caller's promise's own functions (no closure per
 * write), and only the WriteSettler (src/wal/write-settler.ts) calls them: exactly once.
 */
export interface WriteRequest {
  readonly kind: WriteKind;
  /** The record's ops; for a write with an `intent`, empty until the WAL actor resolves it. */
  ops: EncodableOp[];
  /** Size of the record on disk, measured once when the request is made (a bound, until an intent is resolved). */
  recordBytes: number;
  /** performance.now() when the caller asked, only when someone observes operations$ (else 0). */
  startedAtMs: number;
  resolve(result: WriteResult | DeleteRangeResult | IncrementResult): void;
  reject(error: Error): void;
  /** A write that depends on the state when it is sequenced (checks, increments, keepTtl, expire). */
  intent?: WriteIntent;
  /** An increment's new value, set when it is resolved: what the caller's promise resolves with. */
  value?: number;
  /** A deleteRange's count of keys deleted, set when it is applied (in seq order). */
  deleted?: number;
}

/**
 * Records that are durable under the sync policy: `requests[i]` has seq `firstSeq + i`. One run per
 * commit, not one object per record: the write path allocates as little as it can.
 */
export interface CommittedRun {
  readonly firstSeq: number;
  readonly requests: readonly WriteRequest[];
  /** Writes that wrote no record, each answered right after the record `afterSeq` (in order). */
  readonly unwritten?: readonly UnwrittenWrite[];
}

/** A write that wrote no record (a failed check, not a number, nothing to do), answered once the seq before it commits. */
export interface UnwrittenWrite {
  readonly request: WriteRequest;
  readonly afterSeq: number;
  readonly outcome: WriteResult | Error;
}

/** Messages the WAL actor takes. */
export type WalCommand =
  | { type: 'wal.append'; request: WriteRequest }
  /** Barrier: after every earlier write is committed, start a new segment and say where. */
  | { type: 'wal.rotate'; requestId: number; freezeMemtable: boolean }
  /**
   * A durable snapshot at `upToSeq` covers the segments wholly before it: they leave the live WAL.
   * Those holding a record after `keepAfterSeq` (the oldest snapshot generation kept) stay on disk.
   */
  | { type: 'wal.compact'; requestId: number; upToSeq: number; keepAfterSeq: number }
  /** Another actor hit an I/O error that leaves the store unsafe to write: fail as if the WAL had. */
  | { type: 'wal.halt'; error: unknown; during: string };

/** Messages the WAL actor publishes. */
export type WalEvent =
  | { type: 'wal.committed'; run: CommittedRun }
  /** Published synchronously at the barrier: every record <= seq is committed, none > seq written. */
  | { type: 'wal.rotated'; requestId: number; seq: number; freezeMemtable: boolean }
  | { type: 'wal.rotateFailed'; requestId: number; error: Error }
  | { type: 'wal.compacted'; requestId: number; segmentsDeleted: number; error?: Error }
  | { type: 'wal.failed'; error: StoreFailedError }
  | { type: 'wal.groupWritten'; records: number; bytes: number }
  | { type: 'wal.synced'; records: number; latencyMs: number };

export type WalMessage = WalCommand | WalEvent;
