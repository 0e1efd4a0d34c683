/**
 * Recovery, second half: carry out a `RecoveryPlan`. Every change recovery makes to the directory
 * happens here; what to change was decided in `plan.ts`.
 */
import path from 'node:path';
import { asBuffer, type FileSystem } from '../fs/file-system.js';
import type { CoveredSegment } from '../types.js';
import { assert, StoreCorruptError } from '../errors.js';
import { SnapshotEncoder } from '../format/snapshot-format.js';
import { readSnapshotEntries } from '../format/snapshot-reader.js';
import { salvageSnapshot } from '../format/snapshot-salvage.js';
import { temporarySuffix } from '../format/file-names.js';
import { snapshotBlockBytesDefault } from '../limits.js';
import {
  restorableDamage,
  salvageableDamage,
  withLaterBytes,
  type Corruption,
  type RecoveryPlan,
  type SnapshotSalvagePlan,
  type TornTail,
} from './plan.js';
import type { DamageReport, RecoveryReport } from './report.js';

export interface ApplyOptions {
  fs: FileSystem;
  dir: string;
  /** 'open' cuts a torn tail and refuses corruption; 'repair' also cuts at corruption inside a segment's records. */
  mode: 'open' | 'repair';
  /** Keep every segment the snapshot covers instead of deleting it (WAL history retention). */
  retainCovered?: boolean;
}

export interface Applied {
  tornTail: DamageReport | undefined;
  repaired: RecoveryReport['repaired'];
  removedFiles: string[];
  /** Segments the snapshot covers, kept on disk for an older snapshot generation or for `retainCovered`. */
  coveredSegments: CoveredSegment[];
}

/** Removes temporaries and covered segments, then cuts a torn tail, or throws (open) or cuts (repair) at corruption. */
export async function applyPlan(plan: RecoveryPlan, options: ApplyOptions): Promise<Applied> {
  const applied: Applied = { tornTail: undefined, repaired: undefined, removedFiles: [], coveredSegments: [] };
  for (const name of plan.temporaries) {
    await options.fs.unlink(path.join(options.dir, name));
    applied.removedFiles.push(name);
  }
  await applyCovered(plan, options, applied);
  if (plan.corruption !== undefined) applied.repaired = await applyCorruption(plan.corruption, options);
  const restorable = restorableDamage(plan);
  if (restorable !== undefined) applied.repaired ??= await dropDamagedSnapshots(plan, restorable, options);
  const salvageable = salvageableDamage(plan);
  if (salvageable !== undefined && plan.salvage !== undefined) {
    if (options.mode !== 'repair') throw new StoreCorruptError(salvageable.file, salvageable.offset, salvageable.reason);
    // Also after a WAL cut above: both are repaired in one run, and the report carries both.
    const salvaged = await rewriteSalvaged(plan.salvage, options);
    applied.repaired = applied.repaired === undefined ? salvaged : { ...applied.repaired, salvaged: salvaged?.salvaged };
  }
  if (plan.tornTail !== undefined) applied.tornTail = await cutTornTail(plan.tornTail, options);
  return applied;
}

async function applyCovered(plan: RecoveryPlan, options: ApplyOptions, applied: Applied): Promise<void> {
  for (const segment of plan.covered) {
    const segmentPath = path.join(options.dir, segment.name);
    // Repair does not know the store's snapshotGenerations: it leaves covered segments to the next open.
    if (options.retainCovered || options.mode === 'repair' || segment.lastSeq > plan.keepAfterSeq) {
      applied.coveredSegments.push({ ...segment, bytes: await options.fs.size(segmentPath) });
    } else {
      await options.fs.unlink(segmentPath);
      applied.removedFiles.push(segment.name);
    }
  }
}

/** A torn tail was never acknowledged: cut it (or delete a segment whose header never became durable). */
async function cutTornTail(torn: TornTail, options: ApplyOptions): Promise<DamageReport> {
  const filePath = path.join(options.dir, torn.file);
  if (torn.unwritten) {
    await options.fs.unlink(filePath);
  } else {
    await confirmDamage(options, torn.file, torn.bytes);
    await options.fs.truncate(filePath, torn.offset);
  }
  return { file: torn.file, offset: torn.offset, droppedBytes: torn.droppedBytes, reason: torn.reason };
}

/**
 * Corruption refuses an open: acknowledged writes may sit behind it. Repair cuts damage inside a
 * segment's records and deletes every later segment; any other corruption it refuses too.
 */
async function applyCorruption(corruption: Corruption, options: ApplyOptions): Promise<RecoveryReport['repaired']> {
  const { file, offset, reason } = corruption;
  if (options.mode !== 'repair' || !corruption.cuttable || corruption.bytes === undefined) {
    throw new StoreCorruptError(file, offset, reason + corruption.context);
  }
  await confirmDamage(options, file, corruption.bytes);
  await options.fs.truncate(path.join(options.dir, file), offset);
  const droppedBytes = await withLaterBytes(options.fs, options.dir, corruption);
  for (const name of corruption.laterSegments) await options.fs.unlink(path.join(options.dir, name));
  if (corruption.laterSegments.length > 0) await options.fs.syncDir(options.dir);
  return { file, offset, droppedBytes, reason, segmentsDeleted: corruption.laterSegments };
}

/**
 * The newest snapshot is damaged and an older generation restores every write: an open refuses
 * (damage is never passed over silently); repair deletes the damaged snapshots, so the next open
 * loads the older one and replays the WAL after it.
 */
async function dropDamagedSnapshots(
  plan: RecoveryPlan,
  damage: { file: string; offset: number; reason: string },
  options: ApplyOptions,
): Promise<RecoveryReport['repaired']> {
  if (options.mode !== 'repair') throw new StoreCorruptError(damage.file, damage.offset, damage.reason);
  const snapshotsDeleted = plan.skippedSnapshots.map((snapshot) => snapshot.file);
  for (const name of snapshotsDeleted) await options.fs.unlink(path.join(options.dir, name));
  await options.fs.syncDir(options.dir);
  return { ...damage, droppedBytes: 0, segmentsDeleted: [], snapshotsDeleted, restoredFrom: plan.restoredFrom };
}

/** The copy of a damaged snapshot that a salvage keeps: never read again by durable-kv, left for the user. */
export const damagedSuffix = '.damaged';

/**
 * No older generation restores the damaged newest snapshot: rewrite it, at the same seq, with every
 * entry that checks out, so the WAL after it still replays onto it. The order keeps a crash safe:
 * the rewritten file is written, fsynced and read back as a temporary; the damaged bytes are copied
 * to `<name>.damaged` and fsynced; only then does a rename replace the damaged file. A crash before
 * the rename leaves the damaged snapshot in place, and repair can run again.
 */
async function rewriteSalvaged(salvage: SnapshotSalvagePlan, options: ApplyOptions): Promise<RecoveryReport['repaired']> {
  const { fs, dir } = options;
  const finalPath = path.join(dir, salvage.file);
  const temporaryPath = finalPath + temporarySuffix;
  const encoder = new SnapshotEncoder(salvage.seq, snapshotBlockBytesDefault);
  const parts = [encoder.header()];
  const kept = salvageSnapshot(salvage.bytes, salvage.seq, (key, bytes, start, end, version, expiresAt) => {
    const sealed = encoder.add(key, { value: bytes.subarray(start, end), version, expiresAt });
    if (sealed !== undefined) parts.push(Buffer.from(sealed));
  });
  assert(kept.entriesKept === salvage.entriesKept, 'a second salvage of the same bytes keeps the same entries');
  parts.push(...encoder.finish());
  await writeDurably(fs, temporaryPath, parts);
  const handle = await fs.openRead(temporaryPath);
  try {
    const read = await readSnapshotEntries(handle, salvage.file);
    assert(read.entries === salvage.entriesKept && read.seq === salvage.seq, 'the rewritten snapshot reads back');
  } finally {
    await handle.close();
  }
  const damagedCopy = salvage.file + damagedSuffix;
  await writeDurably(fs, path.join(dir, damagedCopy), [salvage.bytes]);
  // The copy's directory entry is durable before the rename can replace the damaged file.
  await fs.syncDir(dir);
  await fs.rename(temporaryPath, finalPath);
  await fs.syncDir(dir);
  const { file, offset, reason, entriesKept, lost } = salvage;
  return { file, offset, reason, droppedBytes: 0, segmentsDeleted: [], salvaged: { entriesKept, lost, damagedCopy } };
}

async function writeDurably(fs: FileSystem, filePath: string, parts: readonly Buffer[]): Promise<void> {
  const handle = await fs.openAppend(filePath, 'truncate');
  try {
    for (const part of parts) await handle.append(part);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Cutting is for good, so first make sure the damage is on the disk and not in one read of it: a
 * flipped bit in the read of the last record looks exactly like a torn tail, and cutting it would
 * drop an acknowledged write. If a second read disagrees, refuse to open (a retry may succeed).
 */
async function confirmDamage(options: ApplyOptions, name: string, bytes: Buffer): Promise<void> {
  const again = asBuffer(await options.fs.readFile(path.join(options.dir, name)));
  if (again.equals(bytes)) return;
  let offset = 0;
  while (offset < bytes.byteLength && bytes[offset] === again[offset]) offset++;
  throw new StoreCorruptError(name, offset, 'two reads of the segment disagree (unreliable storage); nothing was cut');
}
