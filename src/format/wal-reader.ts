/**
 * The one reader of WAL segments (LevelDB's `log::Reader` with its `Reporter`): it walks the
 * segments of a directory in log order and reports what it finds to a `WalReporter` — each valid
 * record, each segment's clean end or damage, a bad header, a seq gap between segments, a segment
 * that vanished between listing and reading. It never decides what damage means: torn tail or
 * corruption is judged in `recovery/plan.ts`, and nothing here throws StoreCorruptError.
 *
 * Within a segment, a position X that holds no valid record is:
 * - the clean end, if every byte from X to the end of the file is zero (preallocated space);
 * - otherwise damage, and `provenDurable` says whether anything proves X was durable: a valid
 *   record after X whose durableBytes exceeds X (a record written later found X already synced),
 *   or a valid record at X whose seq is out of order. Preallocated space is overwritten in place,
 *   so a power loss during an unfinished fdatasync can keep any subset of its sectors: records,
 *   a hole, then later records. Such a hole is never proven durable, because every record after it
 *   was encoded before anything at or past X was synced.
 */
import path from 'node:path';
import type { FileSystem } from '../fs/file-system.js';
import { asBuffer, fsErrorCode } from '../fs/file-system.js';
import { assert } from '../errors.js';
import { classifyDirectory } from './file-names.js';
import {
  checkSegmentHeader,
  checkWalRecord,
  isSyncMarker,
  parseWalRecord,
  readRecordSeq,
  walRecordBytesMin,
  walSyncMarkerBytes,
  walSegmentHeaderBytes,
  type RecordDamage,
  type RecordSpan,
  type WalRecord,
} from './wal-format.js';

/** A segment as listed: its file name and the seq of its first record. */
export interface WalSegmentRef {
  name: string;
  firstSeq: number;
}

export interface SegmentDamage extends RecordDamage {
  /** The first valid record after the damage (or the out-of-order record at it), if any. */
  validRecordAfter: RecordSpan | undefined;
  /** The largest durableBytes among the valid records after the damage; 0 if there are none. */
  durableBytesAfter: number;
  /**
   * Whether the damaged bytes are proven to have been durable, so that no power loss explains
   * them: a record written later claims them durable (durableBytesAfter > offset), or the
   * record at the damage checks out but is out of order (it was written whole).
   */
  provenDurable: boolean;
}

export interface SegmentWalk {
  /** Valid records read, and the seq of the last one (`seqBefore` if none). */
  records: number;
  lastSeq: number;
  /** End of the last valid record or sync marker: the segment's clean end, or where a torn tail would be cut. */
  validBytes: number;
  /** End of the last valid record that carries writes (sync markers not counted). */
  recordsEndBytes: number;
  /** The most any valid record or sync marker before `validBytes` claims durable. */
  claimedBytes: number;
  damage?: SegmentDamage;
}

/** A reporter's answer: 'stop' ends the read after this event. */
// biome-ignore lint/suspicious/noConfusingVoidType: a reporter that never stops a read may return nothing
export type ReadOn = 'stop' | undefined | void;

/**
 * What `readWal` reports, in file order. Every method is optional. `bytes` is the whole segment as
 * read; a record is reported as a span into it (the same bytes, no copy), for `visitWalOps`.
 */
export interface WalReporter {
  /** The segment does not start where the segment read before it ended (`lastSeq`) cleanly. */
  gap?(segment: WalSegmentRef, lastSeq: number): ReadOn;
  /** The segment was deleted between listing and reading. Without this method the ENOENT is thrown. */
  vanished?(segment: WalSegmentRef, error: unknown): ReadOn;
  /** The segment was read whole; its header is not checked yet. */
  segmentRead?(segment: WalSegmentRef, bytes: Buffer): ReadOn;
  /** The segment header does not check out: none of its records are read. */
  headerProblem?(segment: WalSegmentRef, bytes: Buffer, reason: string): ReadOn;
  /** A valid record in seq order, with seq >= `fromSeq`. */
  record?(bytes: Buffer, span: RecordSpan): void;
  /** The segment was walked to its clean end, or to `walk.damage`. */
  segmentEnd?(segment: WalSegmentRef, bytes: Buffer, walk: SegmentWalk): ReadOn;
}

export interface WalReadOptions {
  fs: FileSystem;
  dir: string;
  /** The segments to read, in log order; listed from `dir` if omitted. */
  segments?: readonly WalSegmentRef[];
  /** Report records from this seq on; segments that hold only earlier records are not read. */
  fromSeq?: number;
}

/** Reads the segments from `fromSeq` on, reporting each event to `reporter` until it answers 'stop'. */
export async function readWal(options: WalReadOptions, reporter: WalReporter): Promise<void> {
  for await (const _segment of readWalSteps(options, reporter)) {
    // Each step has already been reported.
  }
}

/**
 * `readWal` one segment at a time: yields each segment once its events have been reported, so a
 * consumer that streams (a dump) can pass them on before the next segment is read.
 */
export async function* readWalSteps(options: WalReadOptions, reporter: WalReporter): AsyncGenerator<WalSegmentRef> {
  const fromSeq = options.fromSeq ?? 1;
  const segments = options.segments ?? classifyDirectory(await options.fs.readdir(options.dir)).segments;
  /** Where the segment read before ended cleanly; undefined after damage, a bad header or none. */
  let cleanSeq: number | undefined;
  // Without a `fromSeq` every listed segment is read, even one whose name claims seq 0: tools see all.
  const toRead = options.fromSeq === undefined ? segments : splitCovered(segments, fromSeq).live;
  for (const segment of toRead) {
    if (cleanSeq !== undefined && segment.firstSeq !== cleanSeq + 1 && reporter.gap?.(segment, cleanSeq) === 'stop') return;
    const bytes = await readSegment(options, segment, reporter);
    if (!Buffer.isBuffer(bytes)) {
      if (reporter.vanished?.(segment, bytes.error) === 'stop') return;
      yield segment;
      continue;
    }
    if (reporter.segmentRead?.(segment, bytes) === 'stop') return;
    const read = readRecords(bytes, segment, fromSeq, reporter);
    cleanSeq = read.cleanSeq;
    if (read.answer === 'stop') return;
    yield segment;
  }
}

/** Reports a segment's bad header, or walks its records and reports its end; `cleanSeq` is where it ended cleanly. */
function readRecords(
  bytes: Buffer,
  segment: WalSegmentRef,
  fromSeq: number,
  reporter: WalReporter,
): { answer: ReadOn; cleanSeq: number | undefined } {
  const headerProblem = checkSegmentHeader(bytes);
  if (headerProblem !== undefined) return { answer: reporter.headerProblem?.(segment, bytes, headerProblem), cleanSeq: undefined };
  const onRecord = reporter.record?.bind(reporter);
  const walk = walkSegment(
    bytes,
    segment.firstSeq - 1,
    onRecord === undefined
      ? noRecord
      : (span) => {
          if (span.seq >= fromSeq) onRecord(bytes, span);
        },
  );
  return { answer: reporter.segmentEnd?.(segment, bytes, walk), cleanSeq: walk.damage === undefined ? walk.lastSeq : undefined };
}

function noRecord(): void {}

/** The segment's bytes, or the ENOENT if it vanished and the reporter takes that. */
async function readSegment(options: WalReadOptions, segment: WalSegmentRef, reporter: WalReporter): Promise<Buffer | { error: unknown }> {
  try {
    return asBuffer(await options.fs.readFile(path.join(options.dir, segment.name)));
  } catch (error) {
    if (fsErrorCode(error) === 'ENOENT' && reporter.vanished !== undefined) return { error };
    throw error;
  }
}

/**
 * Segments whose every record comes before `fromSeq` (`covered`: the next segment starts at or
 * before it), and the rest (`live`), in log order.
 */
export function splitCovered<T extends WalSegmentRef>(segments: readonly T[], fromSeq: number): { covered: T[]; live: T[] } {
  let first = 0;
  while (first + 1 < segments.length && segments[first + 1].firstSeq <= fromSeq) first++;
  return { covered: segments.slice(0, first), live: segments.slice(first) };
}

/**
 * Walks every record of a segment whose header is valid, handing each checked record to `onRecord`.
 * Stops at the first position that is not a valid record or whose seq does not follow. If only
 * zeros follow, that is the segment's clean end (preallocated space); otherwise it is `damage`,
 * with what the records after it prove.
 */
export function walkSegment(bytes: Buffer, seqBefore: number, onRecord: (span: RecordSpan) => void): SegmentWalk {
  const start = walSegmentHeaderBytes;
  const walk: SegmentWalk = { records: 0, lastSeq: seqBefore, validBytes: start, recordsEndBytes: start, claimedBytes: start };
  while (walk.validBytes < bytes.byteLength) {
    const at = walk.validBytes;
    const checked = checkWalRecord(bytes, at);
    if (!checked.ok) {
      if (!isZeroFrom(bytes, at)) walk.damage = damageAt(bytes, at, walk.lastSeq, checked.reason);
      return walk;
    }
    const span = checked.span;
    // A sync marker carries no write: only its claim counts (and, after damage, its proof: damageAt).
    if (!isSyncMarker(span)) {
      if (span.seq !== walk.lastSeq + 1) {
        walk.damage = outOfOrder(span, walk.lastSeq);
        return walk;
      }
      onRecord(span);
      walk.records++;
      walk.lastSeq = span.seq;
      walk.recordsEndBytes = at + span.bytes;
    }
    walk.claimedBytes = Math.max(walk.claimedBytes, span.durableBytes);
    walk.validBytes = at + span.bytes;
  }
  return walk;
}

/** A record that checks out but is out of order was written whole: never a torn tail. */
function outOfOrder(span: RecordSpan, lastSeq: number): SegmentDamage {
  const reason = `sequence number ${span.seq} where ${lastSeq + 1} was expected`;
  return { offset: span.offset, reason, validRecordAfter: span, durableBytesAfter: span.durableBytes, provenDurable: true };
}

function damageAt(bytes: Buffer, offset: number, lastSeq: number, reason: string): SegmentDamage {
  const after = findRecordsAfter(bytes, offset, lastSeq);
  const { first, durableBytesMax } = after;
  return { offset, reason, validRecordAfter: first, durableBytesAfter: durableBytesMax, provenDurable: durableBytesMax > offset };
}

/**
 * The first valid record after `offset` with a seq that could follow `lastSeq`, if any:
 * `findRecordsAfter` starts each run of records past damage with it. The seq window makes a chance
 * CRC match on garbage practically impossible.
 */
export function findValidRecordAfter(bytes: Buffer, offset: number, lastSeq: number): RecordSpan | undefined {
  const seqMax = lastSeq + 1 + Math.ceil((bytes.byteLength - offset) / walRecordBytesMin);
  for (let at = offset + 1; at + walSyncMarkerBytes <= bytes.byteLength; at++) {
    const seq = readRecordSeq(bytes, at);
    // A sync marker (seq 0) is looked for too: its proof is what makes damage before it corruption.
    if (seq !== 0 && (seq <= lastSeq || seq > seqMax)) continue;
    const checked = checkWalRecord(bytes, at);
    if (checked.ok) return checked.span;
  }
  return undefined;
}

/** Zeros to compare a segment's tail against, a chunk at a time. */
const zeroChunk = Buffer.alloc(64 * 1024);

/**
 * Whether every byte from `offset` to the end is zero: space preallocated and never written, the
 * clean end of a segment. Zeros can hide no record (an all-zero record header is invalid), and
 * lost records at a segment's end still show as a seq gap to the next segment.
 */
export function isZeroFrom(bytes: Buffer, offset: number): boolean {
  // Compared a chunk at a time against zeros (memcmp), not byte by byte: a preallocated tail is
  // about 1 MiB, and every open scans the last segment's.
  for (let at = offset; at < bytes.byteLength; at += zeroChunk.byteLength) {
    const end = Math.min(bytes.byteLength, at + zeroChunk.byteLength);
    if (!bytes.subarray(at, end).equals(zeroChunk.subarray(0, end - at))) return false;
  }
  return true;
}

/** The valid records after a damaged position, and the most any of them knew durable. */
export interface RecordsAfter {
  first: RecordSpan | undefined;
  count: number;
  /** The largest durableBytes among them; 0 if there are none. */
  durableBytesMax: number;
}

/**
 * Every valid record after damage at `offset`, re-synchronising past further damage: runs of
 * back-to-back records, each run found by `findValidRecordAfter` with seqs above the last one seen.
 * The seqs only grow, so this ends; the zero tail is not searched.
 */
export function findRecordsAfter(bytes: Buffer, offset: number, lastSeq: number): RecordsAfter {
  const after: RecordsAfter = { first: undefined, count: 0, durableBytesMax: 0 };
  let seq = lastSeq;
  let at = offset;
  // `at - 1`: the search starts one byte past its argument, and the byte at `at` may start a record.
  for (let found = findValidRecordAfter(bytes, at, seq); found !== undefined; found = findValidRecordAfter(bytes, at - 1, seq)) {
    after.first ??= found;
    let span: RecordSpan = found;
    for (;;) {
      if (!isSyncMarker(span)) {
        after.count++;
        seq = span.seq;
      }
      after.durableBytesMax = Math.max(after.durableBytesMax, span.durableBytes);
      at = span.offset + span.bytes;
      const next = checkWalRecord(bytes, at);
      if (!next.ok || (!isSyncMarker(next.span) && next.span.seq !== seq + 1)) break;
      span = next.span;
    }
    if (isZeroFrom(bytes, at)) break;
  }
  return after;
}

export interface SegmentScan extends Omit<SegmentWalk, 'records'> {
  records: WalRecord[];
}

/** `walkSegment`, decoding every record into objects: for dumps, tools and tests. */
export function scanSegment(bytes: Buffer, seqBefore: number): SegmentScan {
  const records: WalRecord[] = [];
  const walk = walkSegment(bytes, seqBefore, (span) => {
    const parsed = parseWalRecord(bytes, span.offset);
    assert(parsed.ok, 'a walked record parses');
    records.push(parsed.record);
  });
  return { ...walk, records };
}
