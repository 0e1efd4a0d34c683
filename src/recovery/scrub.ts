/**
 * The online scrub: reads every file of a running store and checks every checksum, so that latent
 * damage (a bad sector nobody has read since it was written) is found while an older generation can
 * still repair it, not at the next open. It changes nothing and takes no lock.
 *
 * A running store's files move under it: a segment or snapshot compacted meanwhile is 'vanished'
 * (not damage), and the live segment is read only up to what the writer had appended when the scrub
 * began (records past it may be in flight). Every other segment and every snapshot was fsynced whole,
 * so any damage in them is corruption. One file is read at a time, with a turn of the event loop
 * between files; a snapshot is read a block at a time.
 */
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { FileSystem } from '../fs/file-system.js';
import { fsErrorCode } from '../fs/file-system.js';
import { StoreCorruptError } from '../errors.js';
import { classifyDirectory } from '../format/file-names.js';
import { readSnapshotEntries } from '../format/snapshot-reader.js';
import { checkSegmentHeader } from '../format/wal-format.js';
import { walkSegment } from '../format/wal-reader.js';

/** What the scrub found in one file. */
export interface ScrubbedFile {
  file: string;
  status: 'ok' | 'corrupt' | 'vanished';
  /** Bytes read and checked. */
  bytes: number;
  /** Where the damage starts, and why (corrupt only). */
  offset?: number;
  reason?: string;
}

/** What `store.verify()` resolves with. */
export interface VerifyResult {
  ok: boolean;
  files: ScrubbedFile[];
  bytesRead: number;
  durationMs: number;
}

/** The segment being appended to, and how far it was written when the scrub began. */
export interface LiveSegment {
  name: string;
  bytes: number;
}

/**
 * `liveSegment` is asked after the directory is listed: a segment a rotation created before the
 * listing is then the live one, never taken for a sealed one still being written.
 */
export async function scrub(fs: FileSystem, dir: string, liveSegment: () => LiveSegment | undefined): Promise<VerifyResult> {
  const startedAtMs = performance.now();
  const listing = classifyDirectory(await fs.readdir(dir));
  const live = liveSegment();
  const files: ScrubbedFile[] = [];
  for (const snapshot of listing.snapshots) {
    files.push(await unreadableAsDamage(snapshot.name, () => scrubSnapshot(fs, dir, snapshot.name)));
    await nextTurn();
  }
  for (const segment of listing.segments) {
    const writtenBytes = segment.name === live?.name ? live.bytes : undefined;
    files.push(await unreadableAsDamage(segment.name, () => scrubSegment(fs, dir, segment, writtenBytes)));
    await nextTurn();
  }
  const bytesRead = files.reduce((sum, file) => sum + file.bytes, 0);
  const ok = files.every((file) => file.status !== 'corrupt');
  return { ok, files, bytesRead, durationMs: performance.now() - startedAtMs };
}

/** The first damage a scrub found, as the error a store reports. */
export function scrubError(result: VerifyResult): StoreCorruptError | undefined {
  const damaged = result.files.find((file) => file.status === 'corrupt');
  if (damaged === undefined) return undefined;
  return new StoreCorruptError(damaged.file, damaged.offset ?? 0, `${damaged.reason ?? 'damaged'} (found by verify)`);
}

async function scrubSnapshot(fs: FileSystem, dir: string, name: string): Promise<ScrubbedFile> {
  const handle = await vanishedIfMissing(() => fs.openRead(path.join(dir, name)));
  if (handle === undefined) return { file: name, status: 'vanished', bytes: 0 };
  try {
    const read = await readSnapshotEntries(handle, name);
    return { file: name, status: 'ok', bytes: read.bytes };
  } catch (error) {
    if (!(error instanceof StoreCorruptError)) throw error;
    return { file: name, status: 'corrupt', bytes: error.offset, offset: error.offset, reason: error.reason };
  } finally {
    await handle.close();
  }
}

/** A sealed segment is checked whole; the live one (`writtenBytes`) only as far as it was written. */
async function scrubSegment(
  fs: FileSystem,
  dir: string,
  { name, firstSeq }: { name: string; firstSeq: number },
  writtenBytes: number | undefined,
): Promise<ScrubbedFile> {
  const read = await vanishedIfMissing(() => fs.readFile(path.join(dir, name)));
  if (read === undefined) return { file: name, status: 'vanished', bytes: 0 };
  const whole = Buffer.from(read);
  const bytes = writtenBytes === undefined ? whole : whole.subarray(0, Math.min(writtenBytes, whole.byteLength));
  const headerProblem = checkSegmentHeader(bytes);
  if (headerProblem !== undefined) return { file: name, status: 'corrupt', bytes: bytes.byteLength, offset: 0, reason: headerProblem };
  const walk = walkSegment(bytes, firstSeq - 1, () => {});
  if (walk.damage === undefined) return { file: name, status: 'ok', bytes: bytes.byteLength };
  const { offset, reason } = walk.damage;
  return { file: name, status: 'corrupt', bytes: bytes.byteLength, offset, reason };
}

/** A file that cannot be read (EIO: a bad sector, typically) is damage too, and the scrub goes on. */
async function unreadableAsDamage(file: string, check: () => Promise<ScrubbedFile>): Promise<ScrubbedFile> {
  try {
    return await check();
  } catch (error) {
    const reason = `unreadable (${fsErrorCode(error) ?? 'error'}: ${(error as Error).message})`;
    return { file, status: 'corrupt', bytes: 0, offset: 0, reason };
  }
}

async function vanishedIfMissing<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (fsErrorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}
