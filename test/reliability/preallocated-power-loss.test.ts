/**
 * Power loss on preallocated WAL segments (sync 'always'): writes overwrite zeros that are already
 * durable, so a crash during an unfinished fsync can keep any subset of their sectors — a hole with
 * later records after it. Recovery must call that a torn tail (those records were never
 * acknowledged) and lose no acknowledged write; damage in bytes a later record knew durable stays
 * ERR_STORE_CORRUPT.
 */
import { describe, expect, it } from 'vitest';
import { classifyDirectory } from '../../src/format/file-names.js';
import { walkSegment } from '../../src/format/wal-reader.js';
import { MemoryFileSystem, Prng } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';
import { dir, expectCode, openStore, rejectionOf } from './helpers.js';

const writers = 4;

/** What a power loss left in the last segment: a hole that later records survived, if any. */
async function lastSegmentAfterCrash(memory: MemoryFileSystem): Promise<'hole' | 'torn' | 'clean'> {
  const last = classifyDirectory(await memory.readdir(dir)).segments.at(-1)!;
  const walk = walkSegment(Buffer.from(memory.fileBytes(`${dir}/${last.name}`)!), last.firstSeq - 1, () => {});
  if (walk.damage === undefined) return 'clean';
  expect(walk.damage.provenDurable, 'a power loss never leaves damage a later record proves durable').toBe(false);
  return walk.damage.validRecordAfter === undefined ? 'torn' : 'hole';
}

/**
 * One seeded run: writers put new versions of their own keys concurrently, while the WAL's fsyncs
 * are held and released at seeded moments (so several groups are written over preallocated zeros
 * before one is synced); then the power fails and the store reopens.
 */
async function powerLossRun(seed: number) {
  const prng = new Prng(seed);
  const memory = new MemoryFileSystem({ seed });
  const gated = new GatedFileSystem(memory);
  const store = await openStore(gated, { segmentBytesMax: 8 * 1024 });
  const issued = new Array<number>(writers).fill(0);
  const acked = new Array<number>(writers).fill(0);
  const inFlight = new Array<boolean>(writers).fill(false);
  const settled: Array<Promise<unknown>> = [];
  for (let step = 0, steps = 10 + prng.int(30); step < steps; step++) {
    const action = prng.int(10);
    if (action < 6) {
      for (let writer = 0; writer < writers; writer++) {
        if (inFlight[writer] || !prng.chance(0.7)) continue;
        const version = ++issued[writer];
        inFlight[writer] = true;
        const value = `v${version}:${'.'.repeat(prng.int(700))}`;
        settled.push(
          store.put(`w${writer}`, value).then(
            () => {
              acked[writer] = version;
              inFlight[writer] = false;
            },
            () => {
              inFlight[writer] = false;
            },
          ),
        );
      }
    } else if (action < 8) {
      gated.holdSyncs('.wal');
    } else {
      gated.releaseAll();
    }
    for (let turn = prng.int(3); turn >= 0; turn--) await new Promise((resolve) => setImmediate(resolve));
  }
  memory.crash();
  gated.releaseAll();
  await Promise.all(settled);
  const found = await lastSegmentAfterCrash(memory);

  const reopened = await openStore(memory, { segmentBytesMax: 8 * 1024 });
  try {
    for (let writer = 0; writer < writers; writer++) {
      const value = reopened.get(`w${writer}`);
      const version = value === undefined ? 0 : Number(/^v(\d+):/.exec(value)![1]);
      const where = `seed ${seed}, writer ${writer}: acknowledged v${acked[writer]}, issued v${issued[writer]}, found v${version}`;
      expect(version, where).toBeGreaterThanOrEqual(acked[writer]);
      expect(version, where).toBeLessThanOrEqual(issued[writer]);
    }
    return { found, tornTail: reopened.recoveryReport.tornTail, acked: acked.reduce((sum, n) => sum + n, 0) };
  } finally {
    await reopened.close();
    await store.close().catch(() => undefined);
  }
}

describe('power loss during concurrent durable writes on preallocated segments', () => {
  it('loses no acknowledged write and never reports corruption, across many seeded crashes, holes included', async () => {
    const found = { hole: 0, torn: 0, clean: 0 };
    let tornTailsCut = 0;
    let acknowledged = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const run = await powerLossRun(seed);
      found[run.found]++;
      if (run.tornTail !== undefined) tornTailsCut++;
      acknowledged += run.acked;
    }
    // The runs must reach the cases under test: holes with records after them, and plain torn tails.
    expect(found.hole).toBeGreaterThan(10);
    expect(found.torn).toBeGreaterThan(10);
    expect(tornTailsCut).toBeGreaterThanOrEqual(found.hole + found.torn);
    expect(acknowledged).toBeGreaterThan(1000);
  });
});

describe('damage in durable data with records written after it', () => {
  it('is ERR_STORE_CORRUPT after a power loss, wherever the byte flips in an acknowledged record but the last', async () => {
    const memory = new MemoryFileSystem({ seed: 1 });
    const store = await openStore(memory);
    for (let i = 0; i < 12; i++) await store.put(`k${i}`, `value ${i}`);
    const segment = classifyDirectory(await memory.readdir(dir)).segments[0].name;
    const bytes = Buffer.from(memory.durableFileBytes(`${dir}/${segment}`)!);
    const offsets: number[] = [];
    const walk = walkSegment(bytes, 0, (span) => offsets.push(span.offset));
    expect(walk.records).toBe(12);
    expect(bytes.byteLength, 'the segment is preallocated').toBeGreaterThan(walk.validBytes);
    memory.crash();
    await store.close().catch(() => undefined);

    const prng = new Prng(42);
    for (let trial = 0; trial < 40; trial++) {
      const record = prng.int(offsets.length - 1); // any but the last: records written later prove it durable
      const offset = offsets[record] + prng.int(offsets[record + 1] - offsets[record]);
      const image = new MemoryFileSystem();
      const damaged = Buffer.from(bytes);
      damaged[offset] ^= 1 + prng.int(255);
      image.writeFileDurable(`${dir}/${segment}`, damaged);
      const error = await rejectionOf(openStore(image));
      expectCode(error, 'ERR_STORE_CORRUPT');
      expect(error, `byte ${offset}`).toMatchObject({ file: segment, offset: offsets[record] });
    }
  });
});
