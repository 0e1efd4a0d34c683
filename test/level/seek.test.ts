/**
 * Iterators with ranges and seeks, checked against memory-level (abstract-level's reference
 * implementation) on the same data: random ranges (both bounds of a side, exclusive and inclusive,
 * reverse, limit) and random seek targets inside, on and outside the bounds must yield the same keys.
 * abstract-level's own "seek() respects range" test builds its checks but never runs them, so the
 * out-of-range case is proven here.
 */
import type { AbstractLevel } from 'abstract-level';
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import { DurableLevel } from '../../src/level/index.js';
import { MemoryFileSystem, Prng } from '../../src/testing/index.js';

const keys = Array.from({ length: 40 }, (_, i) => String(i * 5).padStart(3, '0')); // 000, 005, … 195

/** A key that may fall on a stored key, between two, or beyond either end. */
const target = (prng: Prng) => String(prng.int(205) - 3).padStart(3, '0');

type Range = { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number };

function randomRange(prng: Prng): Range {
  const range: Range = { reverse: prng.chance(0.5) };
  if (prng.chance(0.5)) range.gt = target(prng);
  if (prng.chance(0.5)) range.gte = target(prng);
  if (prng.chance(0.5)) range.lt = target(prng);
  if (prng.chance(0.5)) range.lte = target(prng);
  if (prng.chance(0.3)) range.limit = prng.int(12);
  return range;
}

/** Up to `steps` keys, seeking to each of `seeks` after every few. */
async function walk(
  db: AbstractLevel<string | Uint8Array, string, string>,
  range: Range,
  seeks: string[],
): Promise<Array<string | undefined>> {
  const iterator = db.keys(range);
  const seen: Array<string | undefined> = [];
  for (const seekTo of seeks) {
    iterator.seek(seekTo);
    for (let i = 0; i < 3; i++) seen.push(await iterator.next());
  }
  seen.push(...(await iterator.all()));
  await iterator.close();
  return seen;
}

describe('range and seek, against memory-level', () => {
  it('yields the same keys for 2,000 random ranges and seeks, out-of-range targets included', async () => {
    const durable = new DurableLevel('/db', { fs: new MemoryFileSystem() });
    const reference = new MemoryLevel();
    const ops = keys.map((key) => ({ type: 'put' as const, key, value: `v${key}` }));
    await durable.batch(ops);
    await reference.batch(ops);
    const prng = new Prng(2026);
    for (let round = 0; round < 2_000; round++) {
      const range = randomRange(prng);
      const seeks = Array.from({ length: 1 + prng.int(3) }, () => target(prng));
      const label = JSON.stringify({ range, seeks });
      expect(await walk(durable, range, seeks), label).toEqual(await walk(reference, range, seeks));
    }
    await durable.close();
    await reference.close();
  });

  it('ends the walk when the target is outside the range: below gt, on an exclusive bound, above lt in reverse', async () => {
    const db = new DurableLevel('/db', { fs: new MemoryFileSystem() });
    await db.batch(['4', '5', '6'].map((key) => ({ type: 'put' as const, key, value: key })));
    const cases: Array<[Range, string]> = [
      [{ gt: '5' }, '4'],
      [{ gt: '5' }, '5'],
      [{ lt: '5', reverse: true }, '6'],
      [{ lt: '5', reverse: true }, '5'],
    ];
    for (const [range, seekTo] of cases) {
      const iterator = db.keys(range);
      iterator.seek(seekTo);
      expect(await iterator.next(), JSON.stringify({ range, seekTo })).toBeUndefined();
      await iterator.close();
    }
    await db.close();
  });
});
