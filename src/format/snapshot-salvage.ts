/**
 * Salvage: what is intact in a damaged snapshot file, and exactly what is not. Used by repair when
 * no older generation restores the snapshot, and by `verify` to say what a repair would lose.
 *
 * Every block has its own CRC, so a damaged byte costs the block it is in and nothing more:
 *   - each entries block that checks out delivers its entries;
 *   - a damaged one is passed over to the next block that checks out: found through the index when
 *     it survives (each block's offset), else by scanning forward for a block whose CRC matches;
 *   - what was lost is read from the index (the damaged blocks' entry counts and first and last
 *     keys), or, without it, counted from the end block's total;
 *   - damage in the header, the index or the end block loses no entry (the seq then comes from the
 *     end block, or from the file's name).
 * It reads a whole file held in memory: salvage is rare, and recovery holds the map anyway.
 */
import { recordBytesMax } from '../limits.js';
import { crc32c } from './crc32c.js';
import {
  blockHeaderBytes,
  blockKindEnd,
  blockKindEntries,
  blockKindIndex,
  checkSnapshotHeader,
  decodeEndPayload,
  decodeIndexPayload,
  endPayloadBytes,
  endPayloadBytesUnindexed,
  entriesLayout,
  snapshotFormatVersionUnindexed,
  snapshotFormatVersion,
  snapshotFormatVersionUnversioned,
  entryFormatFor,
  type EntryFormat,
  snapshotHeaderBytes,
  snapshotHeaderSeqOffset,
  visitEntries,
  type BlockIndexRecord,
  type SnapshotEnd,
  type SnapshotEntryVisitor,
} from './snapshot-format.js';

/** The entries a salvage could not keep. */
export interface LostEntries {
  /** How many: from the index, else from the end block's total; undefined when neither survived. */
  keys: number | undefined;
  /**
   * The first and last key of the damaged blocks, when the index says. Snapshots are written in key
   * order, so the entries lost are exactly the snapshot's keys from the first to the last.
   */
  firstKey: string | undefined;
  lastKey: string | undefined;
}

export interface SnapshotSalvage {
  seq: number;
  entriesKept: number;
  blocksKept: number;
  /** Each damaged region: where it starts, how long it is, and the first check it failed. */
  damage: Array<{ offset: number; bytes: number; reason: string }>;
  lost: LostEntries;
}

interface Block {
  kind: number;
  payload: Buffer;
  next: number;
}

/** Keeps every entry of `bytes` (a snapshot file) that checks out; `seqFromName` if header and end are both damaged. */
export function salvageSnapshot(bytes: Buffer, seqFromName: number, onEntry?: SnapshotEntryVisitor): SnapshotSalvage {
  const damage: SnapshotSalvage['damage'] = [];
  const headerProblem = checkSnapshotHeader(bytes.subarray(0, snapshotHeaderBytes));
  if (headerProblem !== undefined)
    damage.push({ offset: 0, bytes: Math.min(bytes.byteLength, snapshotHeaderBytes), reason: headerProblem });
  const tail = readTail(bytes);
  // Without a valid end block: where it would start, by the header's version (when an index checks
  // out, the entries end before it anyway). So a damaged end block is never taken for entries.
  const endAt = tail?.at ?? Math.max(snapshotHeaderBytes, bytes.byteLength - blockHeaderBytes - endPayloadBytesFor(bytes));
  if (tail === undefined) damage.push({ offset: endAt, bytes: bytes.byteLength - endAt, reason: 'end block damaged' });
  const index = tail?.end.indexOffset === undefined ? undefined : readIndex(bytes, tail.end.indexOffset, tail.at, damage);
  const seq = headerProblem === undefined ? Number(bytes.readBigUInt64LE(snapshotHeaderSeqOffset)) : (tail?.end.seq ?? seqFromName);
  // A damaged header leaves the version unknown: each block is read by whichever entry layout
  // walks it exactly (the current one first), as a store upgraded from format 2 holds format 2
  // snapshots until its next snapshot.
  const formats =
    headerProblem === undefined
      ? [entryFormatFor(bytes.readUInt32LE(8), seq)]
      : [entryFormatFor(snapshotFormatVersion, seq), entryFormatFor(snapshotFormatVersionUnversioned, seq)];
  const walk = walkEntries(bytes, tail?.end.indexOffset ?? endAt, index, formats, onEntry);
  damage.push(...walk.damage);
  damage.sort((a, b) => a.offset - b.offset);
  return { seq, entriesKept: walk.entriesKept, blocksKept: walk.blocksKept, damage, lost: lostEntries(walk, index, tail?.end) };
}

/** The end block, which is the file's last bytes (32 bytes of payload, or 16 in version 1). */
function readTail(bytes: Buffer): { at: number; end: SnapshotEnd } | undefined {
  for (const payloadBytes of [endPayloadBytes, endPayloadBytesUnindexed]) {
    const at = bytes.byteLength - blockHeaderBytes - payloadBytes;
    const block = at >= snapshotHeaderBytes ? blockAt(bytes, at, bytes.byteLength) : undefined;
    const end = block?.kind === blockKindEnd && block.next === bytes.byteLength ? decodeEndPayload(block.payload) : undefined;
    if (end !== undefined && (end.indexOffset === undefined || (end.indexOffset >= snapshotHeaderBytes && end.indexOffset <= at))) {
      return { at, end };
    }
  }
  return undefined;
}

/** The end block's payload size by the header's version (version 2 when the header is damaged). */
function endPayloadBytesFor(bytes: Buffer): number {
  const headerIntact = checkSnapshotHeader(bytes.subarray(0, snapshotHeaderBytes)) === undefined;
  return headerIntact && bytes.readUInt32LE(8) === snapshotFormatVersionUnindexed ? endPayloadBytesUnindexed : endPayloadBytes;
}

/** The index blocks between `from` and the end block, or undefined (and the damage noted) if any fails. */
function readIndex(bytes: Buffer, from: number, endAt: number, damage: SnapshotSalvage['damage']): BlockIndexRecord[] | undefined {
  const records: BlockIndexRecord[] = [];
  for (let at = from; at < endAt; ) {
    const block = blockAt(bytes, at, endAt);
    const decoded = block?.kind === blockKindIndex ? decodeIndexPayload(block.payload) : undefined;
    if (block === undefined || decoded === undefined) {
      damage.push({ offset: at, bytes: endAt - at, reason: 'index block damaged' });
      return undefined;
    }
    records.push(...decoded);
    at = block.next;
  }
  return records;
}

interface EntriesWalk {
  entriesKept: number;
  blocksKept: number;
  damage: SnapshotSalvage['damage'];
  /** The index records of the damaged blocks (when the index survived). */
  lostRecords: BlockIndexRecord[];
}

/** Delivers every entries block that checks out between the header and `entriesEnd`. */
function walkEntries(
  bytes: Buffer,
  entriesEnd: number,
  index: BlockIndexRecord[] | undefined,
  formats: readonly EntryFormat[],
  onEntry?: SnapshotEntryVisitor,
): EntriesWalk {
  const walk: EntriesWalk = { entriesKept: 0, blocksKept: 0, damage: [], lostRecords: [] };
  let at = snapshotHeaderBytes;
  while (at < entriesEnd) {
    const block = blockAt(bytes, at, entriesEnd);
    const format = block?.kind === blockKindEntries ? formats.find((candidate) => entriesLayout(block.payload, candidate)) : undefined;
    const layout = block !== undefined && format !== undefined ? entriesLayout(block.payload, format) : undefined;
    if (block !== undefined && format !== undefined && layout !== undefined && layout.count > 0) {
      walk.entriesKept += onEntry === undefined ? layout.count : visitEntries(block.payload, format, onEntry);
      walk.blocksKept++;
      at = block.next;
      continue;
    }
    // Without an end block to say where the entries stop, the first index or end block that checks out does.
    if (block !== undefined && block.kind !== blockKindEntries) break;
    const next = nextBlockStart(bytes, at, entriesEnd, index);
    walk.damage.push({ offset: at, bytes: next - at, reason: block === undefined ? 'block damaged' : 'block payload does not decode' });
    walk.lostRecords.push(...(index ?? []).filter((record) => record.offset >= at && record.offset < next));
    at = next;
  }
  return walk;
}

/** Where the next block after damage at `at` starts: the index says, else the next offset whose CRC matches. */
function nextBlockStart(bytes: Buffer, at: number, entriesEnd: number, index: BlockIndexRecord[] | undefined): number {
  if (index !== undefined) return index.find((record) => record.offset > at)?.offset ?? entriesEnd;
  for (let candidate = at + 1; candidate < entriesEnd; candidate++) {
    if (blockAt(bytes, candidate, entriesEnd) !== undefined) return candidate;
  }
  return entriesEnd;
}

/** The block at `at` if its header is plausible and its CRC matches, ending by `limit`. */
function blockAt(bytes: Buffer, at: number, limit: number): Block | undefined {
  if (at + blockHeaderBytes > limit) return undefined;
  const kind = bytes.readUInt32LE(at + 8);
  if (kind !== blockKindEntries && kind !== blockKindIndex && kind !== blockKindEnd) return undefined;
  const payloadBytes = bytes.readUInt32LE(at + 4);
  const next = at + blockHeaderBytes + payloadBytes;
  if (payloadBytes > recordBytesMax || next > limit) return undefined;
  const payload = bytes.subarray(at + blockHeaderBytes, next);
  if (crc32c(payload, crc32c(bytes.subarray(at + 4, at + blockHeaderBytes))) !== bytes.readUInt32LE(at)) return undefined;
  return { kind, payload, next };
}

function lostEntries(walk: EntriesWalk, index: BlockIndexRecord[] | undefined, end: SnapshotEnd | undefined): LostEntries {
  if (walk.damage.length === 0) return { keys: 0, firstKey: undefined, lastKey: undefined };
  if (index !== undefined) {
    const first = walk.lostRecords.at(0);
    const last = walk.lostRecords.at(-1);
    return {
      keys: walk.lostRecords.reduce((sum, record) => sum + record.entries, 0),
      firstKey: first?.firstKey.toString('utf8'),
      lastKey: last?.lastKey.toString('utf8'),
    };
  }
  return { keys: end === undefined ? undefined : end.totalEntries - walk.entriesKept, firstKey: undefined, lastKey: undefined };
}

/** What a salvage loses, in words: for errors, the CLI and reports. */
export function describeLostEntries(lost: LostEntries): string {
  if (lost.keys === 0) return 'it loses no entry';
  const count = lost.keys === undefined ? 'an unknown number of entries' : `${lost.keys} ${lost.keys === 1 ? 'entry' : 'entries'}`;
  const keys =
    lost.firstKey === undefined ? '' : ` (keys ${JSON.stringify(lost.firstKey)} to ${JSON.stringify(lost.lastKey)} in key order)`;
  return `it loses ${count} of the damaged block(s)${keys}, unless a write in the WAL after the snapshot restores them`;
}
