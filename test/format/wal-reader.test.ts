/** The WAL reader reports what it finds, in file order, and judges nothing. */
import { describe, expect, it } from 'vitest';
import { walSegmentName } from '../../src/format/file-names.js';
import { readWal, type WalReporter } from '../../src/format/wal-reader.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { walRecordBytes, walSegmentHeaderBytes } from '../../src/format/wal-format.js';
import { put, segment } from '../helpers/wal-segments.js';

const dir = '/store';

async function store(files: Record<number, Buffer>): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir(dir);
  for (const [firstSeq, bytes] of Object.entries(files)) fs.writeFileDurable(`${dir}/${walSegmentName(Number(firstSeq))}`, bytes);
  return fs;
}

/** Every event as a line, records included. */
function recorder(stopOn?: string): { events: string[]; reporter: WalReporter } {
  const events: string[] = [];
  const stop = (event: string) => {
    events.push(event);
    return event.startsWith(stopOn ?? '-') ? ('stop' as const) : undefined;
  };
  const reporter: WalReporter = {
    gap: (segment, lastSeq) => stop(`gap ${segment.firstSeq} after ${lastSeq}`),
    vanished: (segment) => stop(`vanished ${segment.firstSeq}`),
    headerProblem: (segment, _bytes, reason) => stop(`header ${segment.firstSeq}: ${reason}`),
    record: (_bytes, span) => void events.push(`record ${span.seq}`),
    segmentEnd: (segment, _bytes, walk) =>
      stop(`end ${segment.firstSeq}${walk.damage === undefined ? '' : ` damage at ${walk.damage.offset}`}`),
  };
  return { events, reporter };
}

describe('readWal', () => {
  it('reports records and each segment end in log order', async () => {
    const fs = await store({ 1: segment(1, 2), 3: segment(3, 2) });
    const { events, reporter } = recorder();
    await readWal({ fs, dir }, reporter);
    expect(events).toEqual(['record 1', 'record 2', 'end 1', 'record 3', 'record 4', 'end 3']);
  });

  it('from a seq: skips segments that hold only earlier records, and earlier records', async () => {
    const fs = await store({ 1: segment(1, 2), 3: segment(3, 3) });
    const { events, reporter } = recorder();
    await readWal({ fs, dir, fromSeq: 4 }, reporter);
    expect(events).toEqual(['record 4', 'record 5', 'end 3']);
  });

  it('reports a gap, a bad header and damage, and reads on unless told to stop', async () => {
    const torn = segment(6, 2);
    const fs = await store({ 1: segment(1, 2), 4: segment(4, 2), 6: torn.subarray(0, torn.byteLength - 1), 8: Buffer.alloc(8) });
    const { events, reporter } = recorder();
    await readWal({ fs, dir }, reporter);
    expect(events).toEqual([
      'record 1',
      'record 2',
      'end 1',
      'gap 4 after 2',
      'record 4',
      'record 5',
      'end 4',
      'record 6',
      `end 6 damage at ${walSegmentHeaderBytes + walRecordBytes([put('k6', 'v6')])}`,
      'header 8: incomplete segment header (8 bytes)',
    ]);
  });

  it('stops when the reporter answers stop', async () => {
    const fs = await store({ 1: segment(1, 2), 4: segment(4, 2) });
    const { events, reporter } = recorder('gap');
    await readWal({ fs, dir }, reporter);
    expect(events).toEqual(['record 1', 'record 2', 'end 1', 'gap 4 after 2']);
  });

  it('reports a segment deleted between listing and reading as vanished, or throws the ENOENT without a handler', async () => {
    const fs = await store({ 1: segment(1, 2), 3: segment(3, 2) });
    const segments = [
      { name: walSegmentName(1), firstSeq: 1 },
      { name: walSegmentName(3), firstSeq: 3 },
    ];
    const gone: FileSystem = Object.assign(Object.create(fs) as FileSystem, {
      readFile: async (filePath: string) => {
        if (filePath.endsWith(walSegmentName(1))) throw Object.assign(new Error('gone'), { code: 'ENOENT' });
        return fs.readFile(filePath);
      },
    });
    const { events, reporter } = recorder();
    await readWal({ fs: gone, dir, segments }, reporter);
    expect(events).toEqual(['vanished 1', 'record 3', 'record 4', 'end 3']);
    await expect(readWal({ fs: gone, dir, segments }, { record: () => {} })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
