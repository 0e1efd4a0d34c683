/**
 * Proof of durability after a clean close and after each periodic fsync: the WAL ends with a sync
 * marker claiming how far it was durable, so a damaged byte before that point is ERR_STORE_CORRUPT,
 * never a torn tail cut silently. A crash before the proof still cuts what was never promised.
 */
import { describe, expect, it } from 'vitest';
import type { SyncMode } from '../../src/index.js';
import { checkWalRecord, isSyncMarker, walSyncMarkerBytes } from '../../src/format/wal-format.js';
import { syncMarkerAlignBytes } from '../../src/limits.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import {
  type CodedError,
  contentsOf,
  dir,
  diskImage,
  expectCode,
  flipped,
  modelContents,
  openStore,
  putMany,
  rejectionOf,
  storeErrorCodes,
} from './helpers.js';

const syncModes: readonly SyncMode[] = ['always', 'interval', 'never'];
const segmentPath = `${dir}/wal-00000000000000000001.wal`;

/** Sync markers in a segment, as [offset, claimed durable bytes], found by walking its records. */
function syncMarkers(segment: Uint8Array): Array<[offset: number, claimedBytes: number]> {
  const bytes = Buffer.from(segment);
  const markers: Array<[number, number]> = [];
  for (let at = 16; at < bytes.byteLength; ) {
    const checked = checkWalRecord(bytes, at);
    if (!checked.ok) break;
    if (isSyncMarker(checked.span)) markers.push([at, checked.span.durableBytes]);
    at += checked.span.bytes;
  }
  return markers;
}

/** A fresh file system holding `memory`'s segment, durable, with one byte xor-ed with `mask`. */
function withFlip(memory: MemoryFileSystem, offset: number, mask: number): MemoryFileSystem {
  const name = segmentPath.slice(dir.length + 1);
  const segment = memory.fileBytes(segmentPath)!;
  return diskImage(new Map([[name, segment]]), name, flipped(segment, offset, mask));
}

async function closedStore(sync: SyncMode, puts: number): Promise<{ memory: MemoryFileSystem; model: Map<string, string> }> {
  const memory = new MemoryFileSystem();
  const store = await openStore(memory, { sync });
  const model = new Map<string, string>();
  await putMany(store, model, puts);
  await store.close();
  return { memory, model };
}

describe('a clean close proves the WAL durable', () => {
  it.each(syncModes)("with sync '%s', 1000 puts, close, one byte flipped mid-WAL: ERR_STORE_CORRUPT, no silent cut", async (sync) => {
    const { memory } = await closedStore(sync, 1000);
    const segment = memory.fileBytes(segmentPath)!;
    const error = await rejectionOf(openStore(withFlip(memory, Math.floor(segment.byteLength / 2), 0x20)));
    expectCode(error, 'ERR_STORE_CORRUPT');
    expect(error.message).toMatch(/bytes were durable/); // the marker's claim is the proof
  });

  it.each(syncModes)("with sync '%s' the segment ends with a marker in a block of its own, claiming every record", async (sync) => {
    const { memory } = await closedStore(sync, 20);
    const segment = memory.fileBytes(segmentPath)!;
    const markers = syncMarkers(segment);
    const recordsEnd = markers[0][0];
    const alignedAt = segment.byteLength - walSyncMarkerBytes;
    expect(alignedAt % syncMarkerAlignBytes).toBe(0);
    expect(markers.at(-1)).toEqual([alignedAt, recordsEnd]);
    expect(markers.every(([, claimed]) => claimed === recordsEnd)).toBe(true);
  });

  it.each(syncModes)("with sync '%s' a zeroed block holding the last records is ERR_STORE_CORRUPT, not a silent cut", async (sync) => {
    const { memory } = await closedStore(sync, 100);
    const segment = Buffer.from(memory.fileBytes(segmentPath)!);
    const recordsEnd = syncMarkers(segment)[0][0];
    const blockStart = Math.floor((recordsEnd - 1) / syncMarkerAlignBytes) * syncMarkerAlignBytes;
    const damaged = new MemoryFileSystem();
    damaged.writeFileDurable(
      segmentPath,
      Buffer.concat([
        segment.subarray(0, blockStart),
        Buffer.alloc(syncMarkerAlignBytes),
        segment.subarray(blockStart + syncMarkerAlignBytes),
      ]),
    );
    expectCode(await rejectionOf(openStore(damaged)), 'ERR_STORE_CORRUPT');
  });

  it('a reopen and close without writes adds no marker; a write and close adds one', async () => {
    const { memory, model } = await closedStore('always', 5);
    const before = memory.fileBytes(segmentPath)!.byteLength;
    await (await openStore(memory)).close();
    await (await openStore(memory)).close();
    // Recovery read what the markers claim: nothing new to prove, so the file does not grow.
    expect(memory.fileBytes(segmentPath)!.byteLength).toBe(before);
    const first = syncMarkers(memory.fileBytes(segmentPath)!);
    const store = await openStore(memory);
    await putMany(store, model, 1, 'later');
    await store.close();
    const markers = syncMarkers(memory.fileBytes(segmentPath)!);
    expect(markers.length).toBeGreaterThan(first.length);
    const newRecordEnd = markers[first.length][0]; // the new record sits between the old markers and the new
    expect(markers.at(-1)?.[1], 'the new marker claims the new record').toBe(newRecordEnd);
    const reopened = await openStore(memory);
    expect(contentsOf(reopened)).toEqual(modelContents(model));
    await reopened.close();
  });
});

describe("under sync 'interval' a periodic fsync is proven too", () => {
  it('after a periodic fsync with no write after it, one marker follows, even when the store stays idle', async () => {
    const memory = new MemoryFileSystem();
    const store = await openStore(memory, { sync: 'interval', syncIntervalMs: 5 });
    const model = new Map<string, string>();
    await putMany(store, model, 50);
    const recordsEnd = memory.fileBytes(segmentPath)!.byteLength;
    await new Promise((resolve) => setTimeout(resolve, 100)); // many intervals, no writes
    const markers = syncMarkers(memory.fileBytes(segmentPath)!);
    expect(markers).toEqual([[recordsEnd, recordsEnd]]);
    // A power loss now keeps the marker (a later periodic fsync made it durable): a flip before it
    // is corruption, not a torn tail.
    memory.crash();
    const error = await rejectionOf(openStore(withFlip(memory, Math.floor(recordsEnd / 2), 0x20)));
    expectCode(error, 'ERR_STORE_CORRUPT');
    await store.close().catch(() => undefined);
  });
});

describe('corruption matrix: every byte of a cleanly closed WAL', () => {
  it.each(syncModes)("with sync '%s' each flip is harmless (every value intact) or ERR_STORE_CORRUPT", async (sync) => {
    const { memory, model } = await closedStore(sync, 12);
    const segment = memory.fileBytes(segmentPath)!;
    const counts = { harmless: 0, corrupt: 0 };
    for (let offset = 0; offset < segment.byteLength; offset++) {
      const mask = 1 << (offset % 8);
      let store: Awaited<ReturnType<typeof openStore>>;
      try {
        store = await openStore(withFlip(memory, offset, mask));
      } catch (error) {
        const coded = error as CodedError;
        expect(storeErrorCodes, `byte ${offset}: ${coded.stack}`).toContain(coded.code);
        expectCode(coded, 'ERR_STORE_CORRUPT');
        counts.corrupt++;
        continue;
      }
      expect(contentsOf(store), `byte ${offset} ^ ${mask}`).toEqual(modelContents(model));
      await store.close();
      counts.harmless++;
    }
    // Only the markers' own bytes can be harmless: every byte before them is proven durable.
    const recordsEnd = syncMarkers(segment)[0][0];
    expect(counts).toEqual({ harmless: segment.byteLength - recordsEnd, corrupt: recordsEnd });
  });
});
