import path from 'node:path';
import { stat } from 'node:fs/promises';
import { NodeFileSystem } from '../fs/node-file-system.js';
import type { ReadHandle } from '../fs/file-system.js';
import { classifyDirectory, lockFileName, parseSnapshotName, type DirectoryListing } from '../format/file-names.js';
import { readSnapshotEntries } from '../format/snapshot-reader.js';
import { salvageSnapshot, type LostEntries } from '../format/snapshot-salvage.js';
import { readWal, type ReadOn, type SegmentWalk, type WalReporter, type WalSegmentRef } from '../format/wal-reader.js';
import { fsErrorCode } from '../fs/file-system.js';
import {
  corruptionContext,
  isCuttableAt,
  isTornTail,
  isUnwrittenLastSegment,
  missingRecords,
  planRecovery,
  restorableDamage,
  salvageableDamage,
  withLaterBytes,
  type RecoveryPlan,
} from '../recovery/plan.js';
import type { DamageReport } from '../recovery/report.js';
import { StoreCorruptError } from '../errors.js';
import { lockStore } from '../store-lock.js';

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
  /** A corrupt snapshot: what a salvage of it keeps and loses (used when no older generation restores it). */
  salvage?: { entriesKept: number; lost: LostEntries };
}

/** The files `verify` checks, in the order it checks them: snapshots, then the WAL in log order. */
export function filesToVerify(listing: DirectoryListing): Array<{ name: string; kind: 'snapshot' | 'wal' }> {
  const snapshots = [...listing.snapshots].reverse().map((snapshot) => ({ name: snapshot.name, kind: 'snapshot' as const }));
  return [...snapshots, ...listing.segments.map((segment) => ({ name: segment.name, kind: 'wal' as const }))];
}

export async function totalBytes(dir: string, names: ReadonlyArray<string>): Promise<number> {
  let total = 0;
  for (const name of names)
    total += await stat(path.join(dir, name)).then(
      (stats) => stats.size,
      () => 0,
    );
  return total;
}

/**
 * Checks every checksum of every snapshot and WAL segment in `dir`. Reads only and takes no lock,
 * so it can inspect a live store: a segment still being appended to may show a torn tail (a write
 * in flight), and a file compaction deletes meanwhile shows as 'vanished'. Damage is judged by
 * recovery's judge (`recovery/plan.ts`), file by file.
 */
export async function verifyFiles(dir: string, names: readonly string[], onBytes: (bytes: number) => void): Promise<FileCheck[]> {
  const listing = classifyDirectory(names);
  const checks: FileCheck[] = [];
  for (const snapshot of listing.snapshots.slice().reverse()) checks.push(await checkSnapshot(dir, snapshot.name, onBytes));
  const reporter = new VerifyReporter(listing.segments.at(-1)?.name, onBytes);
  await readWal({ fs: new NodeFileSystem(), dir, segments: listing.segments }, reporter);
  checks.push(...reporter.checks);
  checkLogStart(listing, checks);
  return checks;
}

async function checkSnapshot(dir: string, name: string, onBytes: (bytes: number) => void): Promise<FileCheck> {
  const fs = new NodeFileSystem();
  let handle: ReadHandle;
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
    const result = await readSnapshotEntries(counted, name);
    return { file: name, kind: 'snapshot', status: 'ok', bytes: result.bytes, entries: result.entries, seq: result.seq };
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    const salvage = await salvageOf(fs, dir, name);
    return { file: name, kind: 'snapshot', status: 'corrupt', bytes, offset: error.offset, reason: error.reason, salvage };
  } finally {
    await handle.close();
  }
}

async function salvageOf(fs: NodeFileSystem, dir: string, name: string): Promise<FileCheck['salvage']> {
  const seq = parseSnapshotName(name) ?? 0;
  const { entriesKept, lost } = salvageSnapshot(Buffer.from(await fs.readFile(path.join(dir, name))), seq);
  return { entriesKept, lost };
}

/** One FileCheck per segment, from the reader's events. */
class VerifyReporter implements WalReporter {
  readonly checks: FileCheck[] = [];
  readonly #lastName: string | undefined;
  readonly #onBytes: (bytes: number) => void;
  /** The seq the segment before ended at, when the reader found the current one does not follow it. */
  #gapAfterSeq: number | undefined;

  constructor(lastName: string | undefined, onBytes: (bytes: number) => void) {
    this.#lastName = lastName;
    this.#onBytes = onBytes;
  }

  gap(_segment: WalSegmentRef, lastSeq: number): ReadOn {
    this.#gapAfterSeq = lastSeq;
  }

  vanished(segment: WalSegmentRef): ReadOn {
    this.#gapAfterSeq = undefined;
    this.checks.push({ file: segment.name, kind: 'wal', status: 'vanished', bytes: 0 });
  }

  segmentRead(_segment: WalSegmentRef, bytes: Buffer): ReadOn {
    this.#onBytes(bytes.byteLength);
  }

  headerProblem(segment: WalSegmentRef, bytes: Buffer, reason: string): ReadOn {
    const file = segment.name;
    const size = bytes.byteLength;
    this.#gapAfterSeq = undefined;
    if (isUnwrittenLastSegment(bytes, file === this.#lastName)) {
      this.checks.push({ file, kind: 'wal', status: 'torn-tail', bytes: size, offset: 0, droppedBytes: size, reason });
    } else {
      this.checks.push({ file, kind: 'wal', status: 'corrupt', bytes: size, offset: 0, reason });
    }
  }

  segmentEnd(segment: WalSegmentRef, bytes: Buffer, walk: SegmentWalk): ReadOn {
    const file = segment.name;
    const size = bytes.byteLength;
    const isLast = file === this.#lastName;
    const seqs = { records: walk.records, firstSeq: segment.firstSeq, lastSeq: walk.lastSeq };
    const gapAfterSeq = this.#gapAfterSeq;
    this.#gapAfterSeq = undefined;
    if (walk.damage === undefined) {
      const gap =
        gapAfterSeq === undefined
          ? {}
          : {
              status: 'corrupt' as const,
              offset: 0,
              reason: `segment starts at seq ${segment.firstSeq} but the segment before ends at seq ${gapAfterSeq}`,
            };
      this.checks.push({ file, kind: 'wal', status: 'ok', bytes: size, ...seqs, ...gap });
      return;
    }
    const { offset, reason } = walk.damage;
    if (isTornTail(walk.damage, isLast)) {
      this.checks.push({ file, kind: 'wal', status: 'torn-tail', bytes: size, offset, droppedBytes: size - offset, reason, ...seqs });
    } else {
      this.checks.push({
        file,
        kind: 'wal',
        status: 'corrupt',
        bytes: size,
        offset,
        reason: reason + corruptionContext(walk.damage, !isLast),
        ...seqs,
      });
    }
  }
}

/** The log must start where the newest good snapshot ends (or at seq 1 without one), as recovery requires. */
function checkLogStart(listing: DirectoryListing, checks: FileCheck[]): void {
  // A damaged snapshot still holds its seq (restored or salvaged, the WAL goes on from it): its name says which.
  const present = new Set(checks.filter((check) => check.kind === 'snapshot' && check.status !== 'vanished').map((check) => check.file));
  const snapshotSeq = listing.snapshots.find((snapshot) => present.has(snapshot.name))?.seq ?? 0;
  const first = checks.find((check) => check.kind === 'wal' && check.status !== 'vanished');
  const firstSeq = listing.segments.find((segment) => segment.name === first?.file)?.firstSeq;
  if (first === undefined || firstSeq === undefined || first.status === 'corrupt') return;
  const missing = missingRecords(snapshotSeq, firstSeq);
  if (missing !== undefined) Object.assign(first, { status: 'corrupt', offset: 0, reason: missing });
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
  /** A damaged newest snapshot it would delete, restoring every write from an older generation. */
  restore: { damage: { file: string; offset: number; reason: string }; snapshotsDeleted: string[]; restoredFrom: string } | undefined;
  /** A damaged newest snapshot no older generation restores: rewritten with its intact blocks; what it loses. */
  salvage: { damage: { file: string; offset: number; reason: string }; entriesKept: number; lost: LostEntries } | undefined;
}

/**
 * A dry run of `DurableKVStore.repair`: recovery's plan, which reads the same files in the same order
 * as a repair and changes nothing. Repair cuts only damage inside a segment's records (offset past the
 * header); anything else (a snapshot, a header, a gap in the log) it refuses, so that is thrown as the
 * ERR_STORE_CORRUPT an open would throw.
 */
export async function planRepair(dir: string, fs = new NodeFileSystem()): Promise<RepairPlan> {
  await checkNotLocked(dir);
  const plan = await planRecovery(fs, dir, undefined, undefined, 'repair');
  const { corruption, tornTail } = plan;
  if (corruption === undefined) {
    const torn =
      tornTail === undefined
        ? undefined
        : { file: tornTail.file, offset: tornTail.offset, droppedBytes: tornTail.droppedBytes, reason: tornTail.reason };
    const { recordsReplayed: recordsKept, lastSeq } = plan;
    return { cut: undefined, tornTail: torn, recordsKept, lastSeq, restore: restoreOf(plan), salvage: salvageOfPlan(plan) };
  }
  const reason = corruption.reason + corruption.context;
  if (!corruption.cuttable) throw new StoreCorruptError(corruption.file, corruption.offset, reason);
  const droppedBytes = await withLaterBytes(fs, dir, corruption);
  const cut = { file: corruption.file, offset: corruption.offset, droppedBytes, reason, segmentsDeleted: corruption.laterSegments };
  return { cut, tornTail: undefined, recordsKept: undefined, lastSeq: undefined, restore: restoreOf(plan), salvage: salvageOfPlan(plan) };
}

function salvageOfPlan(plan: RecoveryPlan): RepairPlan['salvage'] {
  const salvage = plan.salvage;
  if (salvageableDamage(plan) === undefined || salvage === undefined) return undefined;
  const { file, offset, reason, entriesKept, lost } = salvage;
  return { damage: { file, offset, reason }, entriesKept, lost };
}

function restoreOf(plan: RecoveryPlan): RepairPlan['restore'] {
  const [damage] = plan.skippedSnapshots;
  if (restorableDamage(plan) === undefined || damage === undefined || plan.restoredFrom === undefined) return undefined;
  return { damage, snapshotsDeleted: plan.skippedSnapshots.map((snapshot) => snapshot.file), restoredFrom: plan.restoredFrom };
}

/** Whether `DurableKVStore.repair` cuts this damage (see `isCuttableAt`). */
export function isCuttable(error: StoreCorruptError): boolean {
  return isCuttableAt(error.file, error.offset);
}

/** A dry run of a store another process has open would race its writes, and `--yes` would be refused. */
async function checkNotLocked(dir: string): Promise<void> {
  const lockPath = path.join(dir, lockFileName);
  const exists = await stat(lockPath).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const lock = await lockStore(new NodeFileSystem(), dir);
  await lock.release();
}
