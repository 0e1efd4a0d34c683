/**
 * The shapes every layer shares. This module imports nothing, so anything may import it.
 */

/** A value as the memtable and the formats hold it: a string for 'utf8'/'json', a private byte copy for 'binary'. */
export type StoredValue = string | Uint8Array;

/**
 * A key's entry in the memtable. Never changed once made: a write makes a new one, so an ordered
 * index snapshot or a frozen view that shares it keeps seeing what it saw.
 */
export interface StoredEntry {
  readonly value: StoredValue;
  /** The seq of the record that last wrote the key (a put, an increment, an expire). */
  readonly version: number;
  /** Wall-clock epoch ms at which the key stops existing; 0 when it never does. */
  readonly expiresAt: number;
}

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

/**
 * An operation ready to encode: byte lengths were measured once, when the caller's input was
 * checked. These are what the WAL holds: effects, never conditions (see `WriteIntent`), so replay,
 * the change feed and a follower apply them without looking at anything else.
 */
export type EncodableOp =
  /** `expiresAt`: epoch ms, 0 for none (a put without TTL clears any the key had). */
  | { type: 'put'; key: string; keyBytes: number; value: StoredValue; valueBytes: number; expiresAt: number }
  /** `expired`: active expiry's removal of a key whose time had passed (the change feed says so). */
  | { type: 'delete'; key: string; keyBytes: number; expired?: boolean }
  /** `spec` is the range encoded for the WAL (format/range-spec.ts); `keyBytes` its length. */
  | { type: 'deleteRange'; range: KeyRange; spec: Buffer; keyBytes: number }
  /** Sets an existing key's expiry (0: none), keeping its value; a new version. */
  | { type: 'expire'; key: string; keyBytes: number; expiresAt: number };

/** A condition on a key, checked when the write is sequenced. */
export type WriteCheck = { key: string; version: number } | { key: string; absent: true };

/**
 * An operation whose effect depends on the state when it is sequenced: it is resolved then into
 * `EncodableOp`s (or into nothing, when a check fails), against every write sequenced before it.
 */
export type IntentOp =
  | Exclude<EncodableOp, { type: 'deleteRange' }>
  /** A put that keeps the key's current expiry (`keepTtl`). */
  | { type: 'putKeepTtl'; key: string; keyBytes: number; value: StoredValue; valueBytes: number }
  /** `expiresAt`: undefined keeps the key's expiry. */
  | { type: 'increment'; key: string; keyBytes: number; delta: number; expiresAt: number | undefined }
  /** `expire` of a key that must exist: a conflict if it does not. */
  | { type: 'expireExisting'; key: string; keyBytes: number; expiresAt: number }
  /** Active expiry: delete the key if it is still this version and its time has passed. */
  | { type: 'deleteIfExpired'; key: string; keyBytes: number; version: number };

/**
 * A write that needs the sequenced state: its checks, then its ops, all or nothing. What "expired"
 * means for them is the store's clock when the write is sequenced.
 */
export interface WriteIntent {
  readonly checks: readonly WriteCheck[];
  readonly ops: readonly IntentOp[];
}

/** What a write resolves with. A failed condition resolves `{ ok: false }`: it never rejects. */
export type WriteResult = { ok: true; seq: number } | { ok: false; conflicts: string[] };

/** What `increment` resolves with: the key's new value. */
export type IncrementResult = number;

/** What `deleteRange` resolves with: how many keys it deleted. */
export type DeleteRangeResult = { ok: true; seq: number; deleted: number };

/** What a write is, for events: a `put` and a `delete` carry one op, a `batch` any number. */
export type WriteKind = 'put' | 'delete' | 'batch' | 'deleteRange' | 'increment' | 'expire';

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
  readonly map: ReadonlyMap<string, StoredEntry>;
  /** The same entries in key order, when the ordered index was built (else the snapshot sorts `map`). */
  readonly ordered?: Iterable<[string, StoredEntry]>;
}

/** What `snapshot()` resolves with. */
export interface SnapshotResult {
  /** The last seq the snapshot includes. */
  seq: number;
  keys: number;
  bytes: number;
  durationMs: number;
}

/**
 * A snapshot block an open read and checked but has not decoded yet: recovery makes them, the
 * memtable holds and loads them (see `memtable/pending-blocks.ts`). Blocks come in key order.
 */
export interface PendingBlock {
  readonly firstKey: string;
  readonly lastKey: string;
  readonly entries: number;
  /** Hands every entry of the block to `into`, in key order. The block passed its checks when read. */
  load(into: (key: string, entry: StoredEntry) => void): void;
}
