/**
 * Under sync 'always' the WAL actor grows the live segment with zeros ahead of its writes, so most
 * fdatasyncs overwrite allocated blocks; under 'interval' and 'never' it does not. Used bytes, not
 * file sizes, are what the store counts and where it appends.
 */
import { describe, expect, it } from 'vitest';
import { groupBytesMax, recordBytesMax, segmentBytesMaxLimit, walPreallocateBytes } from '../../src/limits.js';
import { classifyDirectory } from '../../src/format/file-names.js';
import { walRecordHeaderBytes, walSegmentHeaderBytes } from '../../src/format/wal-format.js';
import { walkSegment } from '../../src/format/wal-reader.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { dir, expectCode, openStore, rejectionOf } from './helpers.js';

/** Each segment's file size and where its records end. */
async function segmentsOf(memory: MemoryFileSystem) {
  return Promise.all(
    classifyDirectory(await memory.readdir(dir)).segments.map(async ({ name, firstSeq }) => {
      const bytes = Buffer.from(memory.fileBytes(`${dir}/${name}`)!);
      const walk = walkSegment(bytes, firstSeq - 1, () => {});
      expect(walk.damage, name).toBeUndefined();
      return { name, fileBytes: bytes.byteLength, usedBytes: walk.validBytes, records: walk.records };
    }),
  );
}

describe("under sync 'always'", () => {
  it('grows the live segment a chunk ahead, counting only used bytes in walBytes', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    for (let i = 0; i < 50; i++) await store.put(`k${i}`, `value ${i}`);
    const [segment] = await segmentsOf(memory);
    expect(segment.records).toBe(50);
    expect(segment.fileBytes).toBe(walSegmentHeaderBytes + walPreallocateBytes);
    expect(store.stats().walBytes).toBe(segment.usedBytes);
    // The chunk and its size are durable: later writes overwrite, they do not grow the file.
    expect(memory.durableFileBytes(`${dir}/${segment.name}`)!.byteLength).toBe(segment.fileBytes);
    await store.close();
  });

  it('extends once per chunk, not once per group', async () => {
    const faulty = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const store = await openStore(faulty);
    const before = faulty.stats().calls;
    for (let i = 0; i < 200; i++) await store.put(`k${i}`, 'x'.repeat(100));
    const after = faulty.stats().calls;
    expect(after.sync - before.sync).toBeGreaterThanOrEqual(200);
    expect(after.extend - before.extend).toBe(0); // 200 records of ~130 bytes fit the first chunk
    await store.put('big', 'y'.repeat(walPreallocateBytes));
    expect(faulty.stats().calls.extend - after.extend).toBe(1);
    await store.close();
  });

  it('grows by as much as a group larger than a chunk needs, and reads it back', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    const big = 'z'.repeat(3 * walPreallocateBytes);
    await store.put('big', big);
    const [segment] = await segmentsOf(memory);
    expect(segment.usedBytes).toBeGreaterThan(3 * walPreallocateBytes);
    expect(segment.fileBytes).toBeGreaterThanOrEqual(segment.usedBytes);
    await store.put('small', 'after');
    const [next] = await segmentsOf(memory);
    expect(next.fileBytes).toBe(segment.fileBytes + walPreallocateBytes);
    memory.crash();
    const reopened = await openStore(memory);
    expect(reopened.get('big')).toBe(big);
    await reopened.close();
  });

  it('gives each new segment its first chunk, durable before any record goes in, no larger than the segment', async () => {
    const memory = new MemoryFileSystem();
    const segmentBytesMax = 300;
    const store = await openStore(memory, { segmentBytesMax });
    const segmentsBefore = (await segmentsOf(memory)).length;
    expect(memory.durableFileBytes(`${dir}/${(await segmentsOf(memory))[0].name}`)!.byteLength).toBe(
      walSegmentHeaderBytes + segmentBytesMax,
    );
    for (let i = 0; i < 12; i++) await store.put(`k${i}`, 'v'.repeat(40));
    const segments = await segmentsOf(memory);
    expect(segments.length).toBeGreaterThan(segmentsBefore + 1);
    // A segment rotates once it holds segmentBytesMax: its zeros stop one chunk (= segmentBytesMax) past that.
    for (const segment of segments) {
      const durableBytes = memory.durableFileBytes(`${dir}/${segment.name}`)!.byteLength;
      expect(durableBytes, segment.name).toBeGreaterThanOrEqual(walSegmentHeaderBytes + segmentBytesMax);
      expect(durableBytes, segment.name).toBeLessThanOrEqual(walSegmentHeaderBytes + 2 * segmentBytesMax);
    }
    expect(store.stats().walBytes).toBe(segments.reduce((sum, segment) => sum + segment.usedBytes, 0));
    await store.close();
  });

  it('drops the zeros on a clean close, and appends right after the last record on reopen', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory);
    for (let i = 0; i < 5; i++) await store.put(`k${i}`, `v${i}`);
    await store.close();
    const [closed] = await segmentsOf(memory);
    expect(closed.fileBytes).toBe(closed.usedBytes);

    const reopened = await openStore(memory);
    await reopened.put('k5', 'v5');
    memory.crash();
    const [after] = await segmentsOf(memory);
    expect(after.records).toBe(6);
    expect(after.fileBytes).toBeGreaterThan(after.usedBytes);
    // Reopened over the zeros a crash left, it appends after the last record too, not after the zeros.
    const again = await openStore(memory);
    expect(again.recoveryReport.tornTail).toBeUndefined();
    expect(again.get('k5')).toBe('v5');
    await again.put('k6', 'v6');
    memory.crash();
    const [last] = await segmentsOf(memory);
    expect(last.records).toBe(7);
    const third = await openStore(memory);
    expect(third.get('k6')).toBe('v6');
    await third.close();
  });

  it('fails the store on a failed extension, keeping every acknowledged write', async () => {
    const memory = new MemoryFileSystem();
    const faulty = new FaultyFileSystem({ inner: memory, seed: 2 });
    const store = await openStore(faulty);
    await store.put('kept', 'acknowledged');
    faulty.failNth('extend', 1, 'ENOSPC');
    const error = await rejectionOf(store.put('big', 'b'.repeat(walPreallocateBytes)));
    expectCode(error, 'ERR_STORE_FAILED');
    expect(error.message).toMatch(/disk is full/);
    expect(store.state).toBe('failed');
    faulty.crash();
    const reopened = await openStore(memory);
    expect(Object.fromEntries(reopened.entries())).toEqual({ kept: 'acknowledged' });
    await reopened.close();
  });

  it('cuts the unacknowledged tail and the zeros when it closes after a failure', async () => {
    const memory = new MemoryFileSystem();
    const faulty = new FaultyFileSystem({ inner: memory, seed: 3 });
    const store = await openStore(faulty);
    await store.put('kept', 'acknowledged');
    const [before] = await segmentsOf(memory);
    faulty.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
    expectCode(await rejectionOf(store.put('refused', 'never acknowledged')), 'ERR_STORE_FAILED');
    await store.close().catch(() => undefined);
    const [after] = await segmentsOf(memory);
    expect(after).toEqual({ ...before, fileBytes: before.usedBytes });
  });
});

describe("under sync 'interval' and 'never'", () => {
  it.each(['interval', 'never'] as const)('%s: writes append, with no zeros after them', async (sync) => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { sync });
    for (let i = 0; i < 20; i++) await store.put(`k${i}`, `value ${i}`);
    const [segment] = await segmentsOf(memory);
    expect(segment.fileBytes).toBe(segment.usedBytes);
    expect(store.stats().walBytes).toBe(segment.usedBytes);
    await store.close();
  });
});

describe('segmentBytesMax', () => {
  it('is refused with ERR_INVALID_ARG beyond segmentBytesMaxLimit, so offsets fit the u32 durableBytes field', async () => {
    // A segment passes segmentBytesMax by at most one group: groupBytesMax, or one record alone.
    expect(segmentBytesMaxLimit + Math.max(groupBytesMax, recordBytesMax + walRecordHeaderBytes)).toBeLessThan(2 ** 32);
    expectCode(await rejectionOf(openStore(new MemoryFileSystem(), { segmentBytesMax: segmentBytesMaxLimit + 1 })), 'ERR_INVALID_ARG');
    expectCode(await rejectionOf(openStore(new MemoryFileSystem(), { segmentBytesMax: 2 ** 32 })), 'ERR_INVALID_ARG');
    const store = await openStore(new MemoryFileSystem(), { segmentBytesMax: segmentBytesMaxLimit });
    await store.put('k', 'v');
    await store.close();
  });
});
