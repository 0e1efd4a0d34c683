/** Damage found while reading the log, LevelDB-style: where, how many bytes dropped, and why. */
export interface DamageReport {
  file: string;
  offset: number;
  droppedBytes: number;
  reason: string;
}

export interface RecoveryReport {
  snapshot: { file: string; seq: number; entries: number; bytes: number } | undefined;
  segmentsRead: number;
  recordsReplayed: number;
  bytesRead: number;
  /** A torn tail (an incomplete or failing last record with nothing valid after it), cut off. */
  tornTail: DamageReport | undefined;
  /** With `mode: 'repair'`: the corruption cut off, and the segments deleted after it. */
  repaired: (DamageReport & { segmentsDeleted: string[] }) | undefined;
  /** Files removed: snapshot temporaries, segments a snapshot already covers. */
  removedFiles: string[];
  /** Files that are not durable-kv's: left alone. */
  unknownFiles: string[];
  durationMs: number;
}
