/**
 * The shapes every layer shares. This module imports nothing, so anything may import it.
 */

/** A value as the memtable and the formats hold it: a string for 'utf8'/'json', a private byte copy for 'binary'. */
export type StoredValue = string | Uint8Array;

/** When a write is acknowledged: after fdatasync ('always'), after a periodic one ('interval'), or on write ('never'). */
export type SyncMode = 'always' | 'interval' | 'never';

/** An operation ready to encode: byte lengths were measured once, when the caller's input was checked. */
export type EncodableOp =
  | { type: 'put'; key: string; keyBytes: number; value: StoredValue; valueBytes: number }
  | { type: 'delete'; key: string; keyBytes: number };

/** What a write is, for events: a `put` and a `delete` carry one op, a `batch` any number. */
export type WriteKind = 'put' | 'delete' | 'batch';

/** One WAL segment file: its name, the seq of its first record, and the bytes of valid records in it. */
export interface WalSegment {
  name: string;
  firstSeq: number;
  bytes: number;
  /** Where its last record that carries writes ends (sync markers not counted), when recovery read it. */
  recordsEndBytes?: number;
  /** The most any record or sync marker in it claims durable, when recovery read it. */
  claimedBytes?: number;
}

/** A segment a snapshot covers, with the seq of its last record. */
export type CoveredSegment = WalSegment & { lastSeq: number };

/** The map as of one seq, frozen while a snapshot writes it out. */
export interface FrozenView {
  readonly seq: number;
  readonly map: ReadonlyMap<string, StoredValue>;
  /** The same entries in key order, when the ordered index was built (else the snapshot sorts `map`). */
  readonly ordered?: Iterable<[string, StoredValue]>;
}

/** What `snapshot()` resolves with. */
export interface SnapshotResult {
  /** The last seq the snapshot includes. */
  seq: number;
  keys: number;
  bytes: number;
  durationMs: number;
}
