import { describe, expect, it } from 'vitest';
import { SegmentWriter, type SegmentWriterOptions } from '../../src/wal/segment-writer.js';
import { walSegmentHeaderBytes } from '../../src/format/wal-format.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';

const dir = '/db';
const first = `${dir}/wal-00000000000000000001.wal`;

async function openWriter(fs: FileSystem, options: Partial<SegmentWriterOptions> = {}) {
  await fs.mkdir(dir);
  const writer = new SegmentWriter({ fs, dir, sync: 'always', segmentBytesMax: 4096, ...options }, []);
  await writer.open(1);
  return writer;
}

/** Appends `bytes` bytes of 0xab and counts them, as the WAL actor does with a group. */
async function appendBytes(writer: SegmentWriter, bytes: number): Promise<void> {
  const endBytes = writer.bytes + bytes;
  if (writer.passesPreallocation(endBytes)) await writer.preallocate(endBytes);
  await writer.append(Buffer.alloc(bytes, 0xab));
  writer.appended(bytes, writer.durableBytes);
}

/** Syncs and records what the sync covered, as the WAL actor does. */
async function syncWriter(writer: SegmentWriter): Promise<void> {
  const coveredBytes = writer.bytes;
  await writer.sync();
  writer.synced(coveredBytes);
}

describe('SegmentWriter', () => {
  it('creates the first segment with a durable header, preallocated under sync always', async () => {
    const memory = new MemoryFileSystem();
    const writer = await openWriter(memory);
    expect(await memory.readdir(dir)).toEqual(['wal-00000000000000000001.wal']);
    expect(writer.bytes).toBe(walSegmentHeaderBytes);
    expect(writer.durableBytes).toBe(walSegmentHeaderBytes);
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 4096); // one chunk, no larger than the segment
    expect(memory.durableFileBytes(first)?.byteLength).toBe(walSegmentHeaderBytes + 4096);
  });

  it('does not preallocate under sync never', async () => {
    const memory = new MemoryFileSystem();
    await openWriter(memory, { sync: 'never' });
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes);
  });

  it('sync covers the appends that finished before it and moves durableBytes there', async () => {
    const memory = new MemoryFileSystem();
    const writer = await openWriter(memory);
    await appendBytes(writer, 100);
    expect(writer.durableBytes).toBe(walSegmentHeaderBytes);
    await syncWriter(writer);
    expect(writer.durableBytes).toBe(walSegmentHeaderBytes + 100);
    expect(writer.walBytes).toBe(walSegmentHeaderBytes + 100);
  });

  it('grows the file by a chunk when an append passes the zeros', async () => {
    const memory = new MemoryFileSystem();
    const writer = await openWriter(memory);
    await appendBytes(writer, 4000);
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 4096);
    await appendBytes(writer, 200); // ends past the first chunk
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 2 * 4096);
    expect(writer.full).toBe(true);
  });

  it('rotates to a synced new segment, and hands covered segments over', async () => {
    const memory = new MemoryFileSystem();
    const writer = await openWriter(memory, { sync: 'never' });
    await appendBytes(writer, 50);
    await writer.rotate(4);
    expect(await memory.readdir(dir)).toEqual(['wal-00000000000000000001.wal', 'wal-00000000000000000004.wal']);
    expect(memory.durableFileBytes(first)?.byteLength).toBe(walSegmentHeaderBytes + 50); // synced even under 'never'
    expect(writer.segmentCount).toBe(2);
    expect(writer.lastSegment).toEqual({ name: 'wal-00000000000000000004.wal', firstSeq: 4, bytes: walSegmentHeaderBytes });
    expect(writer.takeCovered(2)).toEqual([]); // seq 3 is still only in the first segment
    expect(writer.takeCovered(3).map((segment) => segment.firstSeq)).toEqual([1]);
    expect(writer.takeCovered(100)).toEqual([]); // the last segment is never covered
  });

  it('trims the preallocated zeros at a clean close', async () => {
    const memory = new MemoryFileSystem();
    const writer = await openWriter(memory);
    await appendBytes(writer, 100);
    await syncWriter(writer);
    await writer.close();
    await writer.trimPreallocation();
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 100);
  });

  it('after a failed fsync, cuts the segment back to its last durable byte', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem({ inner: memory, seed: 1 });
    const writer = await openWriter(fs);
    await appendBytes(writer, 100);
    await syncWriter(writer);
    await appendBytes(writer, 60);
    fs.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
    await expect(writer.sync()).rejects.toThrow();
    expect(writer.durableBytes).toBe(walSegmentHeaderBytes + 100);
    await writer.close();
    await writer.cutUnacknowledgedTail();
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 100);
  });

  it('reopens the last segment past its zero tail, appending right after its records', async () => {
    const memory = new MemoryFileSystem();
    const writer = await openWriter(memory);
    await appendBytes(writer, 100);
    await syncWriter(writer);
    await writer.close(); // no trim: the zeros stay, as after a crash
    const reopened = new SegmentWriter({ fs: memory, dir, sync: 'always', segmentBytesMax: 4096 }, [
      { name: 'wal-00000000000000000001.wal', firstSeq: 1, bytes: walSegmentHeaderBytes + 100 },
    ]);
    await reopened.open(2);
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 100);
    await appendBytes(reopened, 10);
    expect(await memory.size(first)).toBe(walSegmentHeaderBytes + 100 + 4096); // grown by a chunk from the end of the records
    expect(memory.fileBytes(first)?.subarray(walSegmentHeaderBytes + 100, walSegmentHeaderBytes + 110)).toEqual(
      new Uint8Array(10).fill(0xab),
    );
  });
});
