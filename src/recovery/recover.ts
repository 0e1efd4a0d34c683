import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FileSystem } from '../fs/file-system.js';
import type { StoredValue, WalSegment } from '../types.js';
import { classifyDirectory, type DirectoryListing } from '../format/file-names.js';
import { readSnapshotEntries } from '../format/snapshot-format.js';
import { checkSegmentHeader, corruptionContext, isTornTail, visitWalOps, walkSegment, walSegmentHeaderBytes, type OpVisitor } from '../format/wal-format.js';
import { StoreCorruptError } from '../errors.js';

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

export interface Recovered {
  map: Map<string, StoredValue>;
  lastSeq: number;
  snapshotSeq: number;
  segments: WalSegment[];
  /** Segments the snapshot covers, kept on disk because `retainCovered` asked for history. */
  coveredSegments: WalSegment[];
  report: RecoveryReport;
}

export interface RecoveryOptions {
  fs: FileSystem;
  dir: string;
  fromBytes: (bytes: Buffer, start: number, end: number) => StoredValue;
  /** 'open' cuts a torn tail; 'repair' also cuts at corruption; 'inspect' changes nothing. */
  mode: 'open' | 'repair' | 'inspect';
  /** Keep the segments the snapshot covers instead of deleting them (WAL history retention). */
  retainCovered?: boolean;
}

/** Newest valid snapshot, then every WAL record after it; see README "How recovery works". */
export async function recover(options: RecoveryOptions): Promise<Recovered> {
  const startedAtMs = performance.now();
  const { fs, dir } = options;
  const listing = classifyDirectory(await fs.readdir(dir));
  const report: RecoveryReport = {
    snapshot: undefined, segmentsRead: 0, recordsReplayed: 0, bytesRead: 0, tornTail: undefined,
    repaired: undefined, removedFiles: [], unknownFiles: listing.unknown, durationMs: 0,
  };
  if (options.mode !== 'inspect') await removeTemporaries(options, listing, report);
  const map = new Map<string, StoredValue>();
  const snapshotSeq = await loadSnapshot(options, listing, map, report);
  const { live, covered } = await dropCoveredSegments(options, listing, snapshotSeq, report);
  const replayed = await replaySegments(options, live, snapshotSeq, map, report);
  report.durationMs = performance.now() - startedAtMs;
  return { map, lastSeq: replayed.lastSeq, snapshotSeq, segments: replayed.segments, coveredSegments: covered, report };
}

async function removeTemporaries(options: RecoveryOptions, listing: DirectoryListing, report: RecoveryReport) {
  for (const name of listing.temporaries) {
    await options.fs.unlink(path.join(options.dir, name));
    report.removedFiles.push(name);
  }
}

/**
 * Loads the newest snapshot. If it is damaged, an older one serves only when the WAL still holds
 * every record after it (otherwise acknowledged writes would silently vanish): else ERR_STORE_CORRUPT.
 */
async function loadSnapshot(options: RecoveryOptions, listing: DirectoryListing, map: Map<string, StoredValue>, report: RecoveryReport) {
  const firstWalSeq = listing.segments[0]?.firstSeq;
  let firstError: StoreCorruptError | undefined;
  for (const snapshot of listing.snapshots) {
    if (firstError !== undefined && (firstWalSeq === undefined || firstWalSeq > snapshot.seq + 1)) break;
    map.clear();
    const handle = await options.fs.openRead(path.join(options.dir, snapshot.name));
    try {
      const read = await readSnapshotEntries(handle, snapshot.name, (key, bytes, start, end) => {
        map.set(key, options.fromBytes(bytes, start, end));
      });
      report.snapshot = { file: snapshot.name, ...read };
      report.bytesRead += read.bytes;
      return read.seq;
    } catch (error) {
      if (!(error instanceof StoreCorruptError)) throw error;
      firstError ??= error;
    } finally {
      await handle.close();
    }
  }
  map.clear();
  if (firstError !== undefined) throw firstError;
  return 0;
}

/** Segments whose every record the snapshot holds are skipped (and, on open, deleted unless retained). */
async function dropCoveredSegments(options: RecoveryOptions, listing: DirectoryListing, snapshotSeq: number, report: RecoveryReport) {
  const segments = listing.segments;
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1].firstSeq <= snapshotSeq + 1) first++;
  const covered: WalSegment[] = [];
  for (const segment of segments.slice(0, first)) {
    const segmentPath = path.join(options.dir, segment.name);
    if (options.retainCovered) covered.push({ ...segment, bytes: await options.fs.size(segmentPath) });
    else if (options.mode !== 'inspect') {
      await options.fs.unlink(segmentPath);
      report.removedFiles.push(segment.name);
    }
  }
  const live = segments.slice(first);
  if (live.length > 0 && live[0].firstSeq > snapshotSeq + 1) {
    const missing = `records ${snapshotSeq + 1}..${live[0].firstSeq - 1} are missing (no snapshot or segment holds them)`;
    throw new StoreCorruptError(live[0].name, 0, missing);
  }
  return { live, covered };
}

async function replaySegments(
  options: RecoveryOptions,
  segments: ReadonlyArray<{ name: string; firstSeq: number }>,
  snapshotSeq: number,
  map: Map<string, StoredValue>,
  report: RecoveryReport,
): Promise<{ lastSeq: number; segments: WalSegment[] }> {
  let lastSeq = snapshotSeq;
  const kept: WalSegment[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index];
    const later = segments.slice(index + 1);
    if (index > 0 && segment.firstSeq !== lastSeq + 1) {
      throw new StoreCorruptError(segment.name, 0, `segment starts at seq ${segment.firstSeq} but the log is at ${lastSeq}`);
    }
    const bytes = Buffer.from(await options.fs.readFile(path.join(options.dir, segment.name)));
    report.segmentsRead++;
    report.bytesRead += bytes.byteLength;
    const headerProblem = checkSegmentHeader(bytes);
    if (headerProblem !== undefined) {
      if (later.length > 0 || !looksUnwritten(bytes)) throw new StoreCorruptError(segment.name, 0, headerProblem);
      // Created but its header never became durable: a crash during rotation. Nothing lived here.
      if (options.mode !== 'inspect') await options.fs.unlink(path.join(options.dir, segment.name));
      report.tornTail = { file: segment.name, offset: 0, droppedBytes: bytes.byteLength, reason: headerProblem };
      break;
    }
    const apply = mapVisitor(map, options.fromBytes);
    const scan = walkSegment(bytes, segment.firstSeq - 1, (span) => {
      if (span.seq <= snapshotSeq) return;
      visitWalOps(bytes, span, apply);
      report.recordsReplayed++;
    });
    lastSeq = Math.max(lastSeq, scan.lastSeq);
    kept.push({ name: segment.name, firstSeq: segment.firstSeq, bytes: scan.validBytes });
    if (scan.damage === undefined) continue;
    await handleDamage(options, { name: segment.name, bytes, scan, later }, report);
    break;
  }
  return { lastSeq, segments: kept };
}

function looksUnwritten(bytes: Buffer): boolean {
  return bytes.byteLength < walSegmentHeaderBytes || bytes.every((byte) => byte === 0);
}

function mapVisitor(map: Map<string, StoredValue>, fromBytes: RecoveryOptions['fromBytes']): OpVisitor {
  return {
    put: (key, bytes, start, end) => map.set(key, fromBytes(bytes, start, end)),
    delete: (key) => map.delete(key),
  };
}

/**
 * Cutting is for good, so first make sure the damage is on the disk and not in one read of it: a
 * flipped bit in the read of the last record looks exactly like a torn tail, and cutting it would
 * drop an acknowledged write. If a second read disagrees, refuse to open (a retry may succeed).
 */
async function confirmDamage(options: RecoveryOptions, name: string, bytes: Buffer): Promise<void> {
  const again = Buffer.from(await options.fs.readFile(path.join(options.dir, name)));
  if (again.equals(bytes)) return;
  let offset = 0;
  while (offset < bytes.byteLength && bytes[offset] === again[offset]) offset++;
  throw new StoreCorruptError(name, offset, 'two reads of the segment disagree (unreliable storage); nothing was cut');
}

/**
 * Torn tail or corruption (`isTornTail`)? A torn tail is damage in the last segment that no later
 * record proves durable: only writes that were never acknowledged can be there, or after it, and
 * all of it is cut. Anything else is corruption, and acknowledged writes may sit behind it: refuse
 * to open, unless repairing.
 */
async function handleDamage(
  options: RecoveryOptions,
  found: { name: string; bytes: Buffer; scan: ReturnType<typeof walkSegment>; later: ReadonlyArray<{ name: string }> },
  report: RecoveryReport,
) {
  const { name, bytes, scan, later } = found;
  const damage = scan.damage!;
  const dropped: DamageReport = { file: name, offset: damage.offset, droppedBytes: bytes.byteLength - damage.offset, reason: damage.reason };
  const torn = isTornTail(damage, later.length === 0);
  if (!torn && options.mode !== 'repair') {
    throw new StoreCorruptError(name, damage.offset, damage.reason + corruptionContext(damage, later.length > 0));
  }
  if (options.mode !== 'inspect') {
    await confirmDamage(options, name, bytes);
    await options.fs.truncate(path.join(options.dir, name), damage.offset);
  }
  if (torn) {
    report.tornTail = dropped;
    return;
  }
  for (const segment of later) {
    const segmentPath = path.join(options.dir, segment.name);
    dropped.droppedBytes += await options.fs.size(segmentPath);
    await options.fs.unlink(segmentPath);
  }
  if (later.length > 0) await options.fs.syncDir(options.dir);
  report.repaired = { ...dropped, segmentsDeleted: later.map((segment) => segment.name) };
}
