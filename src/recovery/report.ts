import type { LostEntries } from '../format/snapshot-salvage.js';

/** Damage found while reading the log, LevelDB-style: where, how many bytes dropped, and why. */
export interface DamageReport {
  file: string;
  offset: number;
  droppedBytes: number;
  reason: string;
}

/**
 * What repair did: cut the WAL at `offset` of `file` and deleted `segmentsDeleted` (what was cut may
 * include acknowledged writes: `droppedBytes`); or, for a damaged newest snapshot, deleted
 * `snapshotsDeleted` and restored every write from `restoredFrom` and the WAL after it (nothing dropped).
 */
export interface RepairedDamage extends DamageReport {
  segmentsDeleted: string[];
  snapshotsDeleted?: string[];
  restoredFrom?: string;
  /**
   * A damaged newest snapshot that no older generation restores, rewritten with every entry that
   * checked out (`entriesKept`); `lost` says what it lost (see `LostEntries`). The damaged file is
   * kept as `damagedCopy`.
   */
  salvaged?: { entriesKept: number; lost: LostEntries; damagedCopy: string };
}

export interface RecoveryReport {
  snapshot: { file: string; seq: number; entries: number; bytes: number } | undefined;
  segmentsRead: number;
  recordsReplayed: number;
  bytesRead: number;
  /** Of `durationMs`: reading the snapshot into memory, and reading and replaying the WAL after it. */
  snapshotMs: number;
  walMs: number;
  /**
   * Of `walMs`: decoding snapshot blocks that replayed records touched (a lazy open leaves blocks
   * undecoded until a read or write needs them; a WAL that rewrites every key decodes them all here).
   */
  walBlockLoadMs: number;
  /** A torn tail (an incomplete or failing last record with nothing valid after it), cut off. */
  tornTail: DamageReport | undefined;
  /** With `mode: 'repair'`: the damage repaired (see `RepairedDamage`). */
  repaired: RepairedDamage | undefined;
  /** Files removed: snapshot temporaries, segments a snapshot already covers. */
  removedFiles: string[];
  /** Files that are not durable-kv's: left alone. */
  unknownFiles: string[];
  durationMs: number;
}
