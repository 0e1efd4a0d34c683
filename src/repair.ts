import path from 'node:path';
import type { FileSystem } from './fs/file-system.js';
import { NodeFileSystem } from './fs/node-file-system.js';
import { recover } from './recovery/recover.js';
import type { DamageReport, RepairedDamage } from './recovery/report.js';
import { lockStore } from './store-lock.js';
import { ReplayTarget } from './memtable/memtable.js';

export interface RepairReport {
  /**
   * What was repaired: WAL corruption cut off (file, offset, bytes dropped, reason) and the segments
   * deleted after it; or a damaged newest snapshot deleted, every write restored from an older
   * generation (`restoredFrom`) and the WAL after it.
   */
  repaired: RepairedDamage | undefined;
  /** A torn tail cut off (as a normal open would). */
  tornTail: DamageReport | undefined;
  /** Records that survive, and the last seq. */
  recordsKept: number;
  lastSeq: number;
  /** After a restore from an older generation: the seq of the fresh snapshot written, if it was. */
  freshSnapshotSeq?: number;
}

/**
 * Explicit repair: recovery's plan, applied with permission to cut the WAL at the first corruption
 * inside a segment's records (deleting the segments after it), or to delete a damaged newest
 * snapshot that an older generation and the WAL restore with no loss. Takes the lock like an open,
 * so it never races a live store. Snapshot damage with no older generation to restore from is not
 * repairable here: it throws ERR_STORE_CORRUPT as open does.
 */
export async function repairStore(dir: string, options: { fs?: FileSystem } = {}): Promise<RepairReport> {
  const fs = options.fs ?? new NodeFileSystem();
  const resolvedDir = path.resolve(dir);
  const lock = await lockStore(fs, resolvedDir);
  try {
    const fromBytes = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end);
    const recovered = await recover({ fs, dir: resolvedDir, fromBytes, replayTarget: (map) => new ReplayTarget(map), mode: 'repair' });
    const { report } = recovered;
    return { repaired: report.repaired, tornTail: report.tornTail, recordsKept: report.recordsReplayed, lastSeq: recovered.lastSeq };
  } finally {
    await lock.release();
  }
}
