import path from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { NodeFileSystem } from '../fs/node-file-system.js';
import { classifyDirectory, lockFileName, type DirectoryListing } from '../format/file-names.js';
import { readSnapshotEntries } from '../format/snapshot-format.js';
import { checkSegmentHeader, corruptionContext, isTornTail, walkSegment, walSegmentHeaderBytes } from '../format/wal-format.js';
import { fsErrorCode } from '../fs/file-system.js';
import { recover, type DamageReport } from '../recovery/recover.js';
import { StoreCorruptError, StoreLockedError } from '../errors.js';

/** What `verify` found in one file. */
export interface FileCheck {
  file: string;
  kind: 'snapshot' | 'wal';
  /** 'vanished': deleted between listing and reading (a live store compacting); not a problem. */
  status: 'ok' | 'torn-tail' | 'corrupt' | 'vanished';
  bytes: number;
  /** Where the damage starts (torn-tail, corrupt), why, and for a torn tail how many bytes it spans. */
  offset?: number;
  reason?: string;
  droppedBytes?: number;
  /** What the file holds (ok): a snapshot's entries and seq; a segment's records and seq range. */
  entries?: number;
  seq?: number;
  records?: number;
  firstSeq?: number;
  lastSeq?: number;
}

/** The files `verify` checks, in the order it checks them: snapshots, then the WAL in log order. */
export function filesToVerify(listing: DirectoryListing): Array<{ name: string; kind: 'snapshot' | 'wal' }> {
  const snapshots = [...listing.snapshots].reverse().map((snapshot) => ({ name: snapshot.name, kind: 'snapshot' as const }));
  return [...snapshots, ...listing.segments.map((segment) => ({ name: segment.name, kind: 'wal' as const }))];
}

export async function totalBytes(dir: string, names: ReadonlyArray<string>): Promise<number> {
  let total = 0;
  for (const name of names) total += await stat(path.join(dir, name)).then((stats) => stats.size, () => 0);
  return total;
}

/**
 * Checks every checksum of every snapshot and WAL segment in `dir`. Reads only and takes no lock,
 * so it can inspect a live store: a segment still being appended to may show a torn tail (a write
 * in flight), and a file compaction deletes meanwhile shows as 'vanished'.
 */
export async function verifyFiles(dir: string, names: readonly string[], onBytes: (bytes: number) => void): Promise<FileCheck[]> {
  const listing = classifyDirectory(names);
  const checks: FileCheck[] = [];
  for (const snapshot of listing.snapshots.slice().reverse()) checks.push(await checkSnapshot(dir, snapshot.name, onBytes));
  const segments = listing.segments;
  let previous: FileCheck | undefined;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index];
    const check = await checkSegment(dir, segment, index === segments.length - 1, onBytes);
    if (check.status === 'ok' && previous?.status === 'ok' && previous.lastSeq! + 1 !== segment.firstSeq) {
      Object.assign(check, { status: 'corrupt', offset: 0, reason: `segment starts at seq ${segment.firstSeq} but the segment before ends at seq ${previous.lastSeq}` });
    }
    if (check.status !== 'vanished') previous = check;
    checks.push(check);
  }
  checkLogStart(listing, checks);
  return checks;
}

async function checkSnapshot(dir: string, name: string, onBytes: (bytes: number) => void): Promise<FileCheck> {
  const fs = new NodeFileSystem();
  let handle;
  try {
    handle = await fs.openRead(path.join(dir, name));
  } catch (error) {
    if (fsErrorCode(error) === 'ENOENT') return { file: name, kind: 'snapshot', status: 'vanished', bytes: 0 };
    throw error;
  }
  let bytes = 0;
  const counted = {
    read: async (position: number, length: number) => {
      const read = await handle.read(position, length);
      bytes += read.byteLength;
      onBytes(read.byteLength);
      return read;
    },
    close: () => handle.close(),
  };
  try {
    const result = await readSnapshotEntries(counted, name, () => {});
    return { file: name, kind: 'snapshot', status: 'ok', bytes: result.bytes, entries: result.entries, seq: result.seq };
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    return { file: name, kind: 'snapshot', status: 'corrupt', bytes, offset: error.offset, reason: error.reason };
  } finally {
    await handle.close();
  }
}

async function checkSegment(
  dir: string,
  segment: { name: string; firstSeq: number },
  isLast: boolean,
  onBytes: (bytes: number) => void,
): Promise<FileCheck> {
  const file = segment.name;
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, file));
  } catch (error) {
    if (fsErrorCode(error) === 'ENOENT') return { file, kind: 'wal', status: 'vanished', bytes: 0 };
    throw error;
  }
  onBytes(bytes.byteLength);
  const size = bytes.byteLength;
  const headerProblem = checkSegmentHeader(bytes);
  if (headerProblem !== undefined) {
    // As recovery judges it: a last segment whose header never became durable held nothing yet.
    const unwritten = size < walSegmentHeaderBytes || bytes.every((byte) => byte === 0);
    if (isLast && unwritten) return { file, kind: 'wal', status: 'torn-tail', bytes: size, offset: 0, droppedBytes: size, reason: headerProblem };
    return { file, kind: 'wal', status: 'corrupt', bytes: size, offset: 0, reason: headerProblem };
  }
  const walk = walkSegment(bytes, segment.firstSeq - 1, () => {});
  const seqs = { records: walk.records, firstSeq: segment.firstSeq, lastSeq: walk.lastSeq };
  if (walk.damage === undefined) return { file, kind: 'wal', status: 'ok', bytes: size, ...seqs };
  const { offset, reason } = walk.damage;
  if (isTornTail(walk.damage, isLast)) {
    return { file, kind: 'wal', status: 'torn-tail', bytes: size, offset, droppedBytes: size - offset, reason, ...seqs };
  }
  return { file, kind: 'wal', status: 'corrupt', bytes: size, offset, reason: reason + corruptionContext(walk.damage, !isLast), ...seqs };
}

/** The log must start where the newest good snapshot ends (or at seq 1 without one), as recovery requires. */
function checkLogStart(listing: DirectoryListing, checks: FileCheck[]): void {
  const newest = checks.filter((check) => check.kind === 'snapshot' && check.status === 'ok').sort((a, b) => b.seq! - a.seq!)[0];
  const snapshotSeq = newest?.seq ?? 0;
  const first = checks.find((check) => check.kind === 'wal' && check.status !== 'vanished');
  const firstSeq = listing.segments.find((segment) => segment.name === first?.file)?.firstSeq;
  if (first === undefined || firstSeq === undefined || firstSeq <= snapshotSeq + 1 || first.status === 'corrupt') return;
  Object.assign(first, { status: 'corrupt', offset: 0, reason: `records ${snapshotSeq + 1}..${firstSeq - 1} are missing (no snapshot or segment holds them)` });
}

/** What `repair --yes` would do, found without changing anything. */
export interface RepairPlan {
  /** Corruption it would cut: from `offset` of `file` to the end, and every later segment. */
  cut: (DamageReport & { segmentsDeleted: string[] }) | undefined;
  /** A torn tail it would cut (as any open would). */
  tornTail: DamageReport | undefined;
  /** Records that would survive, and the last seq (known when there is no corruption to cut). */
  recordsKept: number | undefined;
  lastSeq: number | undefined;
}

/**
 * A dry run of `DurableKVStore.repair`: recovery in 'inspect' mode, which reads the same files in the
 * same order as a repair and changes nothing. Recovery throws at the first corruption; repair cuts only
 * damage inside a segment's records (offset past the header) — anything else (a snapshot, a header,
 * a gap in the log) it throws on too, so that error is passed on.
 */
export async function planRepair(dir: string, fs = new NodeFileSystem()): Promise<RepairPlan> {
  await checkNotLocked(dir);
  try {
    const recovered = await recover({ fs, dir, fromBytes: () => '', mode: 'inspect' });
    return { cut: undefined, tornTail: recovered.report.tornTail, recordsKept: recovered.report.recordsReplayed, lastSeq: recovered.lastSeq };
  } catch (error) {
    if (!(error instanceof StoreCorruptError) || !isCuttable(error)) throw error;
    const { segments } = classifyDirectory(await fs.readdir(dir));
    const damaged = segments.find((segment) => segment.name === error.file)!;
    const later = segments.filter((segment) => segment.firstSeq > damaged.firstSeq);
    let droppedBytes = (await fs.size(path.join(dir, error.file))) - error.offset;
    for (const segment of later) droppedBytes += await fs.size(path.join(dir, segment.name));
    const cut = { file: error.file, offset: error.offset, droppedBytes, reason: error.reason, segmentsDeleted: later.map((segment) => segment.name) };
    return { cut, tornTail: undefined, recordsKept: undefined, lastSeq: undefined };
  }
}

export function isCuttable(error: StoreCorruptError): boolean {
  return error.file.endsWith('.wal') && error.offset >= walSegmentHeaderBytes;
}

/** A dry run of a store another process has open would race its writes, and `--yes` would be refused. */
async function checkNotLocked(dir: string): Promise<void> {
  const lockPath = path.join(dir, lockFileName);
  const exists = await stat(lockPath).then(() => true, () => false);
  if (!exists) return;
  try {
    const lock = await new NodeFileSystem().lock(lockPath);
    await lock.release();
  } catch (error) {
    if (fsErrorCode(error) === 'ELOCKED') throw new StoreLockedError(path.resolve(dir), { cause: error });
    throw error;
  }
}
