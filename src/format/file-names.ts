/**
 * Names of the files in a store's directory. They say what a file is (`.wal`, `.snap`) and sort in
 * log order: the number in a name is a zero-padded sequence number, 20 digits so any u64 fits.
 *
 *   wal-00000000000000000001.wal    a WAL segment; the number is the seq of its first record
 *   snap-00000000000000004096.snap  a snapshot; the number is the last seq it includes
 *   snap-....snap.tmp               a snapshot being written (removed at open if a crash left it)
 *   LOCK                            locked (fcntl OFD lock) while the store is open
 */
const seqDigits = 20;
const walPattern = /^wal-(\d{20})\.wal$/;
const snapshotPattern = /^snap-(\d{20})\.snap$/;
/** Only durable-kv's own temporaries are ever removed: any other `.tmp` file is the user's. */
const snapshotTemporaryPattern = /^snap-\d{20}\.snap\.tmp$/;
export const lockFileName = 'LOCK';
export const temporarySuffix = '.tmp';

function padSeq(seq: number): string {
  return String(seq).padStart(seqDigits, '0');
}

export function walSegmentName(firstSeq: number): string {
  return `wal-${padSeq(firstSeq)}.wal`;
}

export function snapshotName(seq: number): string {
  return `snap-${padSeq(seq)}.snap`;
}

export function parseWalSegmentName(name: string): number | undefined {
  const match = walPattern.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function parseSnapshotName(name: string): number | undefined {
  const match = snapshotPattern.exec(name);
  return match ? Number(match[1]) : undefined;
}

export interface DirectoryListing {
  /** WAL segments, in log order. */
  segments: Array<{ name: string; firstSeq: number }>;
  /** Snapshots, newest first. */
  snapshots: Array<{ name: string; seq: number }>;
  /** Leftover temporary files from an interrupted snapshot. */
  temporaries: string[];
  /** Anything else: left alone, reported. */
  unknown: string[];
}

export function classifyDirectory(names: readonly string[]): DirectoryListing {
  const listing: DirectoryListing = { segments: [], snapshots: [], temporaries: [], unknown: [] };
  for (const name of names) {
    const firstSeq = parseWalSegmentName(name);
    const snapSeq = parseSnapshotName(name);
    if (firstSeq !== undefined) listing.segments.push({ name, firstSeq });
    else if (snapSeq !== undefined) listing.snapshots.push({ name, seq: snapSeq });
    else if (snapshotTemporaryPattern.test(name)) listing.temporaries.push(name);
    else if (name !== lockFileName) listing.unknown.push(name);
  }
  listing.segments.sort((a, b) => a.firstSeq - b.firstSeq);
  listing.snapshots.sort((a, b) => b.seq - a.seq);
  return listing;
}

/**
 * Snapshot generations: the `generations` newest snapshots are kept, each with the WAL since it, so
 * a damaged newest one is restored from the one before with no loss. Returns the seq after which
 * WAL records must stay on disk: the oldest kept snapshot's, or 0 while fewer snapshots than
 * generations exist (then the oldest generation is the empty store and the whole WAL). With one
 * generation it is the newest snapshot's seq. `snapshots` is newest first, as `classifyDirectory` lists them.
 */
export function keepWalAfterSeq(snapshots: ReadonlyArray<{ seq: number }>, generations: number): number {
  if (snapshots.length === 0) return 0;
  if (generations <= 1) return snapshots[0].seq;
  return snapshots.length >= generations ? snapshots[generations - 1].seq : 0;
}
