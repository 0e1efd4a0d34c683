/**
 * Recovery, first half: read the directory and decide, changing nothing on disk. The plan says
 * which snapshot serves, which segments replay and which the snapshot covers, and what damage there
 * is: a torn tail to cut, or corruption that refuses an open (and that repair would cut). This file
 * is the one judge of torn tail against corruption; `apply.ts` makes the changes, and the CLI's
 * `verify` and `repair` dry run print what it decided.
 *
 * Each file is read once: records stream into the caller's sink (the map, for open and repair;
 * nothing, for a dry run) while the plan is made. See README "How recovery works".
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { asBuffer, fsErrorCode, type FileSystem } from '../fs/file-system.js';
import type { WalSegment } from '../types.js';
import { assert, StoreCorruptError } from '../errors.js';
import { classifyDirectory, keepWalAfterSeq, parseWalSegmentName, type DirectoryListing } from '../format/file-names.js';
import { snapshotGenerationsDefault } from '../limits.js';
import { readSnapshotEntries, type SnapshotBlockVisitor } from '../format/snapshot-reader.js';
import { describeLostEntries, salvageSnapshot, type LostEntries } from '../format/snapshot-salvage.js';
import { isSyncMarker, visitWalOps, walSegmentHeaderBytes, type OpVisitor, type RecordSpan } from '../format/wal-format.js';
import {
  readWal,
  splitCovered,
  type ReadOn,
  type SegmentDamage,
  type SegmentWalk,
  type WalReporter,
  type WalSegmentRef,
} from '../format/wal-reader.js';
import type { DamageReport } from './report.js';

/** Where recovered entries go: the snapshot's, then every replayed record's operations. */
export interface RecoverySink extends OpVisitor {
  /** Forget what a snapshot that then failed its checks delivered. */
  clear(): void;
  /**
   * When present, the snapshot's entries come as whole checked blocks, to decode when the sink
   * chooses, instead of one `put` each.
   */
  block?: SnapshotBlockVisitor;
  /** Time spent decoding blocks it took so far (what `walBlockLoadMs` reports). */
  blockLoadMs?(): number;
}

/** A sink that keeps nothing: for plans that only look. */
export const discardingSink: RecoverySink = { put() {}, delete() {}, deleteRange() {}, expire() {}, clear() {} };

/** Damage that nothing proves durable at the end of the log: never acknowledged, cut on open. */
export interface TornTail extends DamageReport {
  /** The header never became durable (a crash during rotation): the whole file goes. */
  unwritten: boolean;
  /** The segment as the plan read it: cutting first confirms the damage with a second read. */
  bytes: Buffer;
}

/** Damage that acknowledged writes may sit behind: an open refuses; repair may cut it. */
export interface Corruption extends DamageReport {
  /** What follows the damage, appended to `reason` in messages. */
  context: string;
  /** Damage inside a segment's records, which repair cuts; not a snapshot, a header or a gap. */
  cuttable: boolean;
  /** Segments after the damaged one, which repair deletes (`withLaterBytes` adds their sizes to droppedBytes). */
  laterSegments: string[];
  /** The damaged segment as read (cuttable damage only), for the second read before cutting. */
  bytes: Buffer | undefined;
}

export interface RecoveryPlan {
  /** Leftovers of an interrupted snapshot: removed. */
  temporaries: string[];
  /** Files that are not durable-kv's: left alone. */
  unknownFiles: string[];
  /** The newest snapshot that checks out, loaded into the sink. */
  snapshot: { file: string; seq: number; entries: number; bytes: number } | undefined;
  /** Snapshots passed over because they failed their checks, newest first (corruption if no older one serves). */
  skippedSnapshots: Array<{ file: string; offset: number; reason: string }>;
  /**
   * The newest snapshot failed its checks but an older generation serves (an older snapshot, or the
   * empty store, with the WAL since it): every write is there, loaded into the sink. An open still
   * refuses (damage is never passed over silently); repair deletes the damaged snapshots.
   */
  restoredFrom: string | undefined;
  /**
   * The newest snapshot failed its checks and no older generation restores it: what a salvage keeps
   * (every block that checks out, loaded into the sink) and loses. An open refuses; repair rewrites
   * the snapshot with what was kept, keeping the damaged file beside it as `<name>.damaged`.
   */
  salvage: SnapshotSalvagePlan | undefined;
  snapshotSeq: number;
  /** Records after this seq stay on disk: the oldest kept snapshot generation replays them. */
  keepAfterSeq: number;
  /** Segments whose every record the snapshot holds: deleted unless a kept generation or retention needs them. */
  covered: CoveredSegmentRef[];
  /** Segments replayed, each with the bytes that hold valid records. */
  segments: WalSegment[];
  lastSeq: number;
  segmentsRead: number;
  recordsReplayed: number;
  /** Time spent reading the snapshot into the sink (0: none), and reading and replaying the WAL. */
  snapshotMs: number;
  walMs: number;
  /** Of `walMs`: decoding snapshot blocks the replayed records touched. */
  walBlockLoadMs: number;
  bytesRead: number;
  tornTail: TornTail | undefined;
  corruption: Corruption | undefined;
}

export interface SnapshotSalvagePlan {
  file: string;
  seq: number;
  /** The first damage, as the snapshot's reader reported it. */
  offset: number;
  reason: string;
  entriesKept: number;
  lost: LostEntries;
  /** The damaged file as read, to keep beside the rewritten one. */
  bytes: Buffer;
}

/** A segment the snapshot covers, with the seq of its last record. */
export type CoveredSegmentRef = WalSegmentRef & { lastSeq: number };

/**
 * Reads `dir` and decides what recovery does; records stream into `sink`. Changes nothing on disk.
 * `snapshotGenerations` says which covered segments an older snapshot generation still needs.
 * `purpose` 'repair' (repair and its dry run) counts a snapshot that cannot be read (EIO) as
 * damaged; an open rejects with the I/O error instead, since a retry may read it.
 */
export async function planRecovery(
  fs: FileSystem,
  dir: string,
  sink: RecoverySink = discardingSink,
  snapshotGenerations = snapshotGenerationsDefault,
  purpose: 'open' | 'repair' = 'open',
): Promise<RecoveryPlan> {
  const listing = classifyDirectory(await fs.readdir(dir));
  const plan: RecoveryPlan = {
    temporaries: listing.temporaries,
    unknownFiles: listing.unknown,
    snapshot: undefined,
    skippedSnapshots: [],
    restoredFrom: undefined,
    salvage: undefined,
    snapshotSeq: 0,
    keepAfterSeq: 0,
    covered: [],
    segments: [],
    lastSeq: 0,
    segmentsRead: 0,
    recordsReplayed: 0,
    snapshotMs: 0,
    walMs: 0,
    walBlockLoadMs: 0,
    bytesRead: 0,
    tornTail: undefined,
    corruption: undefined,
  };
  const snapshotStartedAtMs = performance.now();
  await planSnapshot({ fs, dir, purpose }, listing, sink, plan);
  plan.snapshotMs = performance.now() - snapshotStartedAtMs;
  if (plan.corruption !== undefined) return plan;
  const { covered, live } = splitCovered(listing.segments, plan.snapshotSeq + 1);
  plan.covered = covered.map((segment, index) => ({ ...segment, lastSeq: (covered[index + 1] ?? live[0]).firstSeq - 1 }));
  plan.keepAfterSeq = Math.min(keepWalAfterSeq(listing.snapshots, snapshotGenerations), plan.snapshotSeq);
  plan.lastSeq = plan.snapshotSeq;
  const missing = live.length > 0 ? missingRecords(plan.snapshotSeq, live[0].firstSeq) : undefined;
  if (missing !== undefined) {
    plan.corruption = notCuttable(live[0].name, missing);
    return plan;
  }
  const walStartedAtMs = performance.now();
  const blockLoadStartMs = sink.blockLoadMs?.() ?? 0;
  await readWal({ fs, dir, segments: live, fromSeq: plan.snapshotSeq + 1 }, new PlanReporter(live, plan, sink));
  plan.walMs = performance.now() - walStartedAtMs;
  plan.walBlockLoadMs = (sink.blockLoadMs?.() ?? 0) - blockLoadStartMs;
  checkRestoreReachesDamaged(listing, plan);
  return plan;
}

/**
 * A restore from an older generation loses nothing only if the WAL after it reaches the damaged
 * snapshot's seq: when records are missing too (a second fault), it is corruption, not a restore.
 */
function checkRestoreReachesDamaged(listing: DirectoryListing, plan: RecoveryPlan): void {
  const [newest] = plan.skippedSnapshots;
  if (plan.restoredFrom === undefined || newest === undefined || plan.corruption !== undefined) return;
  const damagedSeq = listing.snapshots.find((snapshot) => snapshot.name === newest.file)?.seq ?? 0;
  if (plan.lastSeq >= damagedSeq) return;
  const reason = `${newest.reason}; the older generation and the WAL reach only seq ${plan.lastSeq} of its ${damagedSeq}`;
  plan.corruption = { ...notCuttable(newest.file, reason), offset: newest.offset };
  plan.restoredFrom = undefined;
}

/**
 * The newest snapshot that checks out. If it is damaged, an older generation serves only when the
 * WAL still holds every record after it (otherwise acknowledged writes would silently vanish): an
 * older snapshot, or the empty store when the WAL starts at seq 1. Else corruption.
 */
async function planSnapshot(
  { fs, dir, purpose }: { fs: FileSystem; dir: string; purpose: 'open' | 'repair' },
  listing: DirectoryListing,
  sink: RecoverySink,
  plan: RecoveryPlan,
) {
  const firstWalSeq = listing.segments[0]?.firstSeq;
  for (const snapshot of listing.snapshots) {
    if (plan.skippedSnapshots.length > 0 && (firstWalSeq === undefined || firstWalSeq > snapshot.seq + 1)) break;
    sink.clear();
    let handle: Awaited<ReturnType<FileSystem['openRead']>> | undefined;
    try {
      handle = await fs.openRead(path.join(dir, snapshot.name));
      const read =
        sink.block === undefined
          ? await readSnapshotEntries(handle, snapshot.name, (key, bytes, start, end, version, expiresAt) =>
              sink.put(key, bytes, start, end, expiresAt, version),
            )
          : await readSnapshotEntries(handle, snapshot.name, undefined, sink.block);
      plan.snapshot = { file: snapshot.name, ...read };
      plan.snapshotSeq = read.seq;
      plan.bytesRead += read.bytes;
      if (plan.skippedSnapshots.length > 0) plan.restoredFrom = snapshot.name;
      return;
    } catch (error) {
      plan.skippedSnapshots.push(snapshotDamage(snapshot.name, error, purpose));
    } finally {
      await handle?.close();
    }
  }
  sink.clear();
  const first = plan.skippedSnapshots[0];
  if (first === undefined) return;
  if (firstWalSeq === 1) plan.restoredFrom = 'the empty store';
  else await planSalvage(fs, dir, listing, sink, plan);
}

/**
 * No older generation restores the newest snapshot: keep what is intact in it. Only when the WAL
 * goes on from it (as retention keeps it); else, or if the file holds another seq than its name
 * says, it is corruption.
 */
async function planSalvage(fs: FileSystem, dir: string, listing: DirectoryListing, sink: RecoverySink, plan: RecoveryPlan) {
  const [damaged] = plan.skippedSnapshots;
  const newest = listing.snapshots[0];
  assert(damaged !== undefined && newest?.name === damaged.file, 'the newest snapshot is the first one skipped');
  const firstWalSeq = listing.segments[0]?.firstSeq;
  const refuse = (reason: string) => {
    sink.clear();
    plan.corruption = { ...notCuttable(damaged.file, reason), offset: damaged.offset };
  };
  if (firstWalSeq !== undefined && missingRecords(newest.seq, firstWalSeq) !== undefined) return refuse(damaged.reason);
  let bytes: Buffer;
  try {
    bytes = asBuffer(await fs.readFile(path.join(dir, newest.name)));
  } catch (error) {
    if (fsErrorCode(error) !== 'EIO') throw error;
    return refuse(`${damaged.reason}; no older generation restores it and it cannot be read to salvage`);
  }
  const salvaged = salvageSnapshot(bytes, newest.seq, (key, payload, start, end, version, expiresAt) =>
    sink.put(key, payload, start, end, expiresAt, version),
  );
  if (salvaged.seq !== newest.seq) return refuse(`${damaged.reason}; the file holds seq ${salvaged.seq}, its name says ${newest.seq}`);
  const { entriesKept, lost } = salvaged;
  plan.salvage = { file: newest.name, seq: newest.seq, offset: damaged.offset, reason: damaged.reason, entriesKept, lost, bytes };
  plan.snapshot = { file: newest.name, seq: newest.seq, entries: entriesKept, bytes: bytes.byteLength };
  plan.snapshotSeq = newest.seq;
  plan.bytesRead += bytes.byteLength;
}

/** Why an open refuses a plan that salvages the newest snapshot, and what repair would lose. */
export function salvageableDamage(plan: RecoveryPlan): { file: string; offset: number; reason: string } | undefined {
  const salvage = plan.salvage;
  if (salvage === undefined) return undefined;
  const repair = `no older snapshot generation restores it; repair keeps every intact block: ${describeLostEntries(salvage.lost)}`;
  return { file: salvage.file, offset: salvage.offset, reason: `${salvage.reason}; ${repair}` };
}

/**
 * A snapshot that fails its checks is damaged: an older generation may restore it. For repair, one
 * that cannot be read at all (EIO: a bad sector, as disks report one) is damaged too; an open
 * rejects with the EIO, because it may be transient and a retry may read the file. Any other error
 * is not about the file.
 */
function snapshotDamage(file: string, error: unknown, purpose: 'open' | 'repair'): { file: string; offset: number; reason: string } {
  if (error instanceof StoreCorruptError) return { file: error.file, offset: error.offset, reason: error.reason };
  if (purpose === 'repair' && fsErrorCode(error) === 'EIO')
    return { file, offset: 0, reason: `unreadable (EIO: ${(error as Error).message})` };
  throw error;
}

/** Why an open refuses a plan that restores from an older generation, and what repair would do. */
export function restorableDamage(plan: RecoveryPlan): { file: string; offset: number; reason: string } | undefined {
  const [newest] = plan.skippedSnapshots;
  if (plan.restoredFrom === undefined || newest === undefined) return undefined;
  const rest = plan.skippedSnapshots.length > 1 ? ` (and ${plan.skippedSnapshots.length - 1} older damaged snapshot(s))` : '';
  const repair = `repair restores every write from ${plan.restoredFrom} and the WAL after it: nothing is lost`;
  return { ...newest, reason: `${newest.reason}${rest}; ${repair}` };
}

/** Streams records into the sink and judges what ends the log: clean, a gap, a bad header, damage. */
class PlanReporter implements WalReporter {
  readonly #segments: readonly WalSegmentRef[];
  readonly #plan: RecoveryPlan;
  readonly #sink: RecoverySink;

  constructor(segments: readonly WalSegmentRef[], plan: RecoveryPlan, sink: RecoverySink) {
    this.#segments = segments;
    this.#plan = plan;
    this.#sink = sink;
  }

  gap(segment: WalSegmentRef, lastSeq: number): ReadOn {
    const logSeq = Math.max(lastSeq, this.#plan.snapshotSeq);
    this.#plan.corruption = notCuttable(segment.name, `segment starts at seq ${segment.firstSeq} but the log is at ${logSeq}`);
    return 'stop';
  }

  segmentRead(_segment: WalSegmentRef, bytes: Buffer): ReadOn {
    this.#plan.segmentsRead++;
    this.#plan.bytesRead += bytes.byteLength;
  }

  headerProblem(segment: WalSegmentRef, bytes: Buffer, reason: string): ReadOn {
    if (isUnwrittenLastSegment(bytes, this.#later(segment).length === 0)) {
      // Created but its header never became durable: a crash during rotation. Nothing lived here.
      this.#plan.tornTail = { file: segment.name, offset: 0, droppedBytes: bytes.byteLength, reason, unwritten: true, bytes };
    } else {
      this.#plan.corruption = notCuttable(segment.name, reason);
    }
    return 'stop';
  }

  record(bytes: Buffer, span: RecordSpan): void {
    visitWalOps(bytes, span, this.#sink);
    this.#plan.recordsReplayed++;
  }

  segmentEnd(segment: WalSegmentRef, bytes: Buffer, walk: SegmentWalk): ReadOn {
    const plan = this.#plan;
    const previous = plan.segments.at(-1);
    assert(previous === undefined || plan.lastSeq + 1 === segment.firstSeq, `replayed segments are contiguous at ${segment.name}`);
    const { recordsEndBytes, claimedBytes } = walk;
    plan.segments.push({ name: segment.name, firstSeq: segment.firstSeq, bytes: walk.validBytes, recordsEndBytes, claimedBytes });
    plan.lastSeq = Math.max(plan.lastSeq, walk.lastSeq);
    if (walk.damage === undefined) return undefined;
    const later = this.#later(segment);
    if (isTornTail(walk.damage, later.length === 0)) {
      assert(later.length === 0 && walk.damage.offset >= walSegmentHeaderBytes, `a torn tail is past the header of the last segment`);
      const { offset, reason } = walk.damage;
      plan.tornTail = { file: segment.name, offset, droppedBytes: bytes.byteLength - offset, reason, unwritten: false, bytes };
    } else {
      plan.corruption = segmentCorruption(segment.name, bytes, walk.damage, later);
    }
    return 'stop';
  }

  #later(segment: WalSegmentRef): WalSegmentRef[] {
    return this.#segments.filter((other) => other.firstSeq > segment.firstSeq);
  }
}

/** Repair cuts only damage inside a segment's records: not in a snapshot, a segment header or a gap in the log. */
export function isCuttableAt(file: string, offset: number): boolean {
  return parseWalSegmentName(file) !== undefined && offset >= walSegmentHeaderBytes;
}

function notCuttable(file: string, reason: string): Corruption {
  return { file, offset: 0, droppedBytes: 0, reason, context: '', cuttable: false, laterSegments: [], bytes: undefined };
}

function segmentCorruption(file: string, bytes: Buffer, damage: SegmentDamage, later: readonly WalSegmentRef[]): Corruption {
  assert(isCuttableAt(file, damage.offset), `damage in ${file} at ${damage.offset} is past its header`);
  return {
    file,
    offset: damage.offset,
    droppedBytes: bytes.byteLength - damage.offset,
    reason: damage.reason,
    context: corruptionContext(damage, later.length > 0),
    cuttable: true,
    laterSegments: later.map((segment) => segment.name),
    bytes,
  };
}

/** What repair drops for a corruption: the damaged segment from the damage on, and every later segment. */
export async function withLaterBytes(fs: FileSystem, dir: string, corruption: Corruption): Promise<number> {
  let droppedBytes = corruption.droppedBytes;
  for (const name of corruption.laterSegments) droppedBytes += await fs.size(path.join(dir, name));
  return droppedBytes;
}

/**
 * Torn tail or corruption? A torn tail is damage in the last segment that nothing proves durable:
 * a write whose fdatasync never completed, so it was never acknowledged, and neither was anything
 * after it (the fsync that acknowledged a later record would have made the damaged bytes durable
 * too). Rotation syncs a segment before the next one exists, so damage in any other segment is
 * corruption.
 */
export function isTornTail(damage: SegmentDamage, isLastSegment: boolean): boolean {
  return isLastSegment && !damage.provenDurable;
}

/**
 * A bad header is a torn tail only in the last segment, and only if nothing was ever written there
 * (too short for a header, or all zeros): the segment was created but its header never became durable.
 */
export function isUnwrittenLastSegment(bytes: Buffer, isLastSegment: boolean): boolean {
  return isLastSegment && (bytes.byteLength < walSegmentHeaderBytes || bytes.every((byte) => byte === 0));
}

/** Why damage is corruption, for messages: what follows it. */
export function corruptionContext(damage: SegmentDamage, laterSegments: boolean): string {
  const record = damage.validRecordAfter;
  if (record === undefined) return laterSegments ? ' (later segments follow)' : '';
  const proof = damage.durableBytesAfter > damage.offset ? `, written when ${damage.durableBytesAfter} bytes were durable` : '';
  const what = isSyncMarker(record) ? 'a sync marker' : `a valid record, seq ${record.seq},`;
  return ` (${what} follows at byte ${record.offset}${proof})`;
}

/** The log must start at or before the seq after the snapshot (seq 1 without one): else why not. */
export function missingRecords(snapshotSeq: number, firstSeq: number): string | undefined {
  if (firstSeq <= snapshotSeq + 1) return undefined;
  return `records ${snapshotSeq + 1}..${firstSeq - 1} are missing (no snapshot or segment holds them)`;
}
