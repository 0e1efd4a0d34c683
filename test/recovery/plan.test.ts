/**
 * The recovery plan's verdict, case by case (TigerBeetle-style table): what it would cut as a torn
 * tail, what it calls corruption, and that making the plan changes nothing on disk.
 */
import { describe, expect, it } from 'vitest';
import type { EncodableOp } from '../../src/types.js';
import { encodeSegmentHeader, encodeWalRecord, walRecordBytes, walSegmentHeaderBytes } from '../../src/format/wal-format.js';
import { walSegmentName } from '../../src/format/file-names.js';
import { planRecovery, type RecoveryPlan } from '../../src/recovery/plan.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { DurableKVStore } from '../../src/index.js';

const dir = '/store';

function put(key: string, value: string): EncodableOp {
  return { type: 'put', key, keyBytes: Buffer.byteLength(key), value, valueBytes: Buffer.byteLength(value), expiresAt: 0 };
}

/** Records firstSeq.. back to back; `durable` gives each record's durableBytes from its offset. */
function segment(firstSeq: number, count: number, durable: (offset: number) => number = (offset) => offset) {
  const parts = [encodeSegmentHeader()];
  const offsets: number[] = [];
  let at = walSegmentHeaderBytes;
  for (let index = 0; index < count; index++) {
    const ops = [put(`key${firstSeq + index}`, `value ${firstSeq + index}`)];
    const record = Buffer.alloc(walRecordBytes(ops));
    encodeWalRecord(record, 0, firstSeq + index, ops, durable(at));
    offsets.push(at);
    parts.push(record);
    at += record.byteLength;
  }
  return { bytes: Buffer.concat(parts), offsets, end: at };
}

function flip(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] ^= 0x40;
  return copy;
}

function zeroed(bytes: Buffer, from: number, to: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(0, from, to);
  return copy;
}

async function planOf(files: Record<number, Buffer>): Promise<{ plan: RecoveryPlan; fs: MemoryFileSystem }> {
  const fs = new MemoryFileSystem();
  await fs.mkdir(dir);
  for (const [firstSeq, bytes] of Object.entries(files)) fs.writeFileDurable(`${dir}/${walSegmentName(Number(firstSeq))}`, bytes);
  const before = snapshotOf(fs);
  const plan = await planRecovery(fs, dir);
  expect(snapshotOf(fs), 'planning changes nothing on disk').toEqual(before);
  return { plan, fs };
}

function snapshotOf(fs: MemoryFileSystem): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of fs.listDurable(dir)) files[name] = Buffer.from(fs.fileBytes(`${dir}/${name}`)!).toString('hex');
  return files;
}

const first = walSegmentName(1);
const second = walSegmentName(6);

describe('planRecovery judges the end of the log', () => {
  it('a clean end: every record replays, nothing to cut', async () => {
    const { plan } = await planOf({ 1: segment(1, 5).bytes, 6: segment(6, 3).bytes });
    expect(plan).toMatchObject({ lastSeq: 8, recordsReplayed: 8, segmentsRead: 2, tornTail: undefined, corruption: undefined });
    expect(plan.segments.map((s) => s.name)).toEqual([first, second]);
  });

  it('a zero tail (preallocated space) is the clean end', async () => {
    const { bytes, end } = segment(1, 5);
    const { plan } = await planOf({ 1: Buffer.concat([bytes, Buffer.alloc(4096)]) });
    expect(plan).toMatchObject({ lastSeq: 5, tornTail: undefined, corruption: undefined });
    expect(plan.segments[0].bytes).toBe(end);
  });

  it('an incomplete last record is a torn tail, cut at its start', async () => {
    const { bytes, offsets } = segment(1, 5);
    const { plan } = await planOf({ 1: bytes.subarray(0, bytes.byteLength - 3) });
    expect(plan.corruption).toBeUndefined();
    expect(plan.tornTail).toMatchObject({
      file: first,
      offset: offsets[4],
      droppedBytes: bytes.byteLength - 3 - offsets[4],
      unwritten: false,
    });
    expect(plan.lastSeq).toBe(4);
  });

  it('a flipped byte with a valid record after it that claims it durable is corruption', async () => {
    const { bytes, offsets } = segment(1, 5);
    const { plan } = await planOf({ 1: flip(bytes, offsets[2] + 22) });
    expect(plan.tornTail).toBeUndefined();
    expect(plan.corruption).toMatchObject({
      file: first,
      offset: offsets[2],
      reason: 'checksum mismatch',
      cuttable: true,
      laterSegments: [],
    });
    expect(plan.corruption!.context).toContain('a valid record, seq 4');
  });

  it('a hole no later record proves durable, in the last segment, is a torn tail', async () => {
    const { bytes, offsets } = segment(1, 5, () => walSegmentHeaderBytes);
    const { plan } = await planOf({ 1: zeroed(bytes, offsets[2], offsets[3]) });
    expect(plan.corruption).toBeUndefined();
    expect(plan.tornTail).toMatchObject({ file: first, offset: offsets[2] });
  });

  it('a hole a later record proves durable is corruption', async () => {
    const { bytes, offsets } = segment(1, 5);
    const { plan } = await planOf({ 1: zeroed(bytes, offsets[2], offsets[3]) });
    expect(plan.tornTail).toBeUndefined();
    expect(plan.corruption).toMatchObject({ file: first, offset: offsets[2], cuttable: true });
  });

  it('a valid record out of seq order is corruption', async () => {
    const { bytes } = segment(1, 3);
    const stray = segment(9, 1).bytes.subarray(walSegmentHeaderBytes);
    const { plan } = await planOf({ 1: Buffer.concat([bytes, stray]) });
    expect(plan.tornTail).toBeUndefined();
    expect(plan.corruption).toMatchObject({ file: first, offset: bytes.byteLength, reason: 'sequence number 9 where 4 was expected' });
  });

  it('damage in a segment that is not the last is corruption, and names the later segments', async () => {
    const { bytes } = segment(1, 5);
    const { plan } = await planOf({ 1: bytes.subarray(0, bytes.byteLength - 3), 6: segment(6, 3).bytes });
    expect(plan.tornTail).toBeUndefined();
    expect(plan.corruption).toMatchObject({ file: first, cuttable: true, laterSegments: [second], context: ' (later segments follow)' });
  });

  it('a last segment whose header never became durable is an unwritten torn tail', async () => {
    const { plan } = await planOf({ 1: segment(1, 5).bytes, 6: Buffer.alloc(walSegmentHeaderBytes) });
    expect(plan.corruption).toBeUndefined();
    expect(plan.tornTail).toMatchObject({ file: second, offset: 0, unwritten: true, droppedBytes: walSegmentHeaderBytes });
    expect(plan.lastSeq).toBe(5);
  });

  it('a bad header with bytes in it is corruption repair cannot cut', async () => {
    const { plan } = await planOf({ 1: segment(1, 5).bytes, 6: flip(segment(6, 3).bytes, 2) });
    expect(plan.tornTail).toBeUndefined();
    expect(plan.corruption).toMatchObject({ file: second, offset: 0, cuttable: false, reason: 'not a durable-kv WAL segment (bad magic)' });
  });

  it('a bad header in a segment before the last is corruption even if it is all zeros', async () => {
    const { plan } = await planOf({ 1: Buffer.alloc(64), 6: segment(6, 3).bytes });
    expect(plan.corruption).toMatchObject({ file: first, offset: 0, cuttable: false });
  });

  it('a seq gap between segments is corruption', async () => {
    const { plan } = await planOf({ 1: segment(1, 4).bytes, 6: segment(6, 3).bytes });
    expect(plan.corruption).toMatchObject({
      file: second,
      offset: 0,
      cuttable: false,
      reason: 'segment starts at seq 6 but the log is at 4',
    });
  });

  it('records missing before the first segment (no snapshot) is corruption, and nothing is read', async () => {
    const { plan } = await planOf({ 6: segment(6, 3).bytes });
    expect(plan.corruption).toMatchObject({
      file: second,
      offset: 0,
      cuttable: false,
      reason: 'records 1..5 are missing (no snapshot or segment holds them)',
    });
    expect(plan.segmentsRead).toBe(0);
  });
});

describe('planRecovery with a snapshot', () => {
  it('loads the snapshot, replays only the records after it, and lists the segments it covers', async () => {
    const fs = new MemoryFileSystem();
    const store = await DurableKVStore.open(dir, { fs, segmentBytesMax: 100, autoSnapshot: false, walRetentionMs: 3_600_000 });
    for (let i = 1; i <= 5; i++) await store.put(`k${i}`, `v${i}`);
    await store.snapshot();
    await store.put('k6', 'v6');
    await store.close();
    const plan = await planRecovery(fs, dir);
    expect(plan).toMatchObject({ snapshotSeq: 5, lastSeq: 6, recordsReplayed: 1, tornTail: undefined, corruption: undefined });
    expect(plan.snapshot?.file).toBe('snap-00000000000000000005.snap');
    expect(plan.covered.length).toBeGreaterThan(0);
    expect(plan.covered.every((segment) => segment.firstSeq <= 5)).toBe(true);
    expect(plan.segments.at(-1)?.firstSeq).toBeLessThanOrEqual(6);
  });
});
