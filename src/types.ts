/**
 * The shapes every layer shares. This module imports nothing, so anything may import it.
 */

/** A value as the memtable and the formats hold it: a string for 'utf8'/'json', a private byte copy for 'binary'. */
export type StoredValue = string | Uint8Array;

/** When a write is acknowledged: after fdatasync ('always'), after a periodic one ('interval'), or on write ('never'). */
export type SyncMode = 'always' | 'interval' | 'never';

/** What a range call accepts. Bounds and prefix are keys; all are optional. */
export interface RangeOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  /** Only keys that start with it (combined with the bounds, which restrict further). */
  prefix?: string;
  /** Walk from the top down. */
  reverse?: boolean;
  /** How many entries to return at most, counted in walk order (after `reverse`): a non-negative integer or Infinity. */
  limit?: number;
}

/**
 * A checked range of keys: one lower and one upper bound (the stricter of the bounds and the
 * prefix), the prefix kept as a stop condition, the direction and the limit.
 */
export interface KeyRange {
  readonly lower: string | undefined;
  readonly lowerInclusive: boolean;
  readonly upper: string | undefined;
  readonly upperInclusive: boolean;
  /** '' when none: every key starts with ''. */
  readonly prefix: string;
  readonly reverse: boolean;
  readonly limit: number;
}

/** An operation ready to encode: byte lengths were measured once, when the caller's input was checked. */
export type EncodableOp =
  | { type: 'put'; key: string; keyBytes: number; value: StoredValue; valueBytes: number }
  | { type: 'delete'; key: string; keyBytes: number }
  /** `spec` is the range encoded for the WAL (format/range-spec.ts); `keyBytes` its length. */
  | { type: 'deleteRange'; range: KeyRange; spec: Buffer; keyBytes: number };

/** What a write resolves with. A failed condition resolves `{ ok: false }`: it never rejects. */
export type WriteResult = { ok: true; seq: number } | { ok: false; conflicts: string[] };

/** What `deleteRange` resolves with: how many keys it deleted. */
export type DeleteRangeResult = { ok: true; seq: number; deleted: number };

/** What a write is, for events: a `put` and a `delete` carry one op, a `batch` any number. */
export type WriteKind = 'put' | 'delete' | 'batch' | 'deleteRange';

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
