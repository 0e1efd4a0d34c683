/**
 * Candidates for the memtable's ordered index (not part of `npm test` or `npm run bench`):
 *
 *   npx tsx bench/ordered-index.ts [--keys 1000000] [--runs 3] [--cases map,lazy,...]
 *
 * - map: today's memtable, a Map (the baseline; no order).
 * - btree: sorted-btree as the only structure (compareKeys).
 * - btree-lt: the same with `<` (compareUnits), which OrderedIndex uses while no key has a unit
 *   >= 0xD800 (as here): what compareKeys costs.
 * - lazy: a Map for point reads plus an OrderedIndex built on the first range call (radix sort +
 *   bulk load) and kept current by later writes; `lazy-sorted` is the same build when the map was
 *   filled in key order (as a sorted load or snapshot would).
 * - lmdb: lmdb's getRange over the same keys in a temp dir, for the range figure.
 *
 * Keys are bench/lib/data.ts's 16-byte `key:000000123456`, inserted in a seeded random order and
 * flattened as checkKey's Buffer.byteLength does; values the 256 shared 100-byte strings. Every
 * case runs in a fresh child process (--expose-gc) `runs` times; the table shows medians.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sortedBtree from 'sorted-btree';
import { compareKeys, hasHighUnits, sortedOrder } from '../src/memtable/key-order.js';
import { OrderedIndex } from '../src/memtable/ordered-index.js';
import type { StoredValue } from '../src/types.js';
import { keyFor, makeValues, prng, randomIndices } from './lib/data.js';
import { settledMemory } from './lib/memory.js';
import { median } from './lib/stats.js';

type Metrics = Record<string, number>;
const cases = ['map', 'btree', 'btree-lt', 'lazy', 'lazy-sorted', 'lmdb', 'compare'] as const;
type Case = (typeof cases)[number];

const imported: unknown = sortedBtree;
const BTree: typeof sortedBtree.default = typeof imported === 'function' ? (imported as typeof sortedBtree.default) : sortedBtree.default;

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function ltCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The keys in insertion order (a seeded shuffle, or key order), each string made when it is
 * inserted, as the store makes (decodes) a key when it is put or recovered, so memory order
 * follows insertion order; flattened as checkKey's Buffer.byteLength does.
 */
function insertionKeys(count: number, shuffled: boolean): string[] {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (shuffled) {
    const random = prng(11);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    keys[i] = keyFor(order[i]);
    Buffer.byteLength(keys[i]);
  }
  return keys;
}

/** Separate key strings to look up with, in key order (as W4's prepared keys). */
function lookupKeys(count: number): string[] {
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) keys[i] = keyFor(i);
  return keys;
}

function perSecond(count: number, ms: number): number {
  return (count / ms) * 1000;
}

/** Median ms of `times` calls of `f` (after one untimed call when `warm`). */
function medianMs(times: number, f: () => void, warm = false): number {
  if (warm) f();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    f();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

function consume(iterable: Iterable<[string, StoredValue]>): number {
  let count = 0;
  for (const _ of iterable) count++;
  return count;
}

function timeGets(count: number, keys: readonly string[], get: (key: string) => StoredValue | undefined): number {
  const picks = randomIndices(count, keys.length, 42);
  for (let i = 0; i < keys.length; i++) get(keys[i]); // warm-up, untimed
  const start = performance.now();
  let found = 0;
  for (let i = 0; i < count; i++) if (get(keys[picks[i]]) !== undefined) found++;
  const ms = performance.now() - start;
  if (found !== count) throw new Error('a get missed');
  return perSecond(count, ms);
}

let rangeLength = 100_000;

function child(name: Case, count: number, lmdbDir: string): Metrics | Promise<Metrics> {
  rangeLength = Math.min(100_000, Math.floor(count / 10));
  const rangeStart = keyFor(Math.floor(count * 0.4));
  if (name === 'compare') return compareCosts(count);
  if (name === 'lmdb') return lmdbRange(lmdbDir, count, rangeStart);
  const values = makeValues();
  const before = settledMemory();
  const inserted = insertionKeys(count, name !== 'lazy-sorted');
  if (name === 'btree' || name === 'btree-lt') {
    const tree = new BTree<string, StoredValue>(undefined, name === 'btree' ? compareKeys : ltCompare, 64);
    const start = performance.now();
    for (let i = 0; i < count; i++) tree.set(inserted[i], values[i & 255]);
    const setPerSec = perSecond(count, performance.now() - start);
    const built = settledMemory();
    const keys = lookupKeys(count);
    const getPerSec = timeGets(count, keys, (key) => tree.get(key));
    const rangeMs = medianMs(
      5,
      () => {
        let seen = 0;
        for (const _ of tree.clone().entries(rangeStart)) if (++seen === rangeLength) break;
      },
      true,
    );
    return {
      setPerSec,
      getPerSec,
      rangeMs,
      rssMb: (built.rss - before.rss) / 2 ** 20,
      heapMb: (built.heapUsed - before.heapUsed) / 2 ** 20,
    };
  }
  // map, lazy, lazy-sorted: the Map part is the same; `lazy` adds the index the way the memtable would.
  const map = new Map<string, StoredValue>();
  let index: OrderedIndex<StoredValue> | undefined;
  const set = (key: string, value: StoredValue): void => {
    map.set(key, value);
    if (index !== undefined) index.set(key, value);
  };
  let start = performance.now();
  for (let i = 0; i < count; i++) set(inserted[i], values[i & 255]);
  const setPerSec = perSecond(count, performance.now() - start);
  const withMap = settledMemory();
  const metrics: Metrics = {
    setPerSec,
    rssMb: (withMap.rss - before.rss) / 2 ** 20,
    heapMb: (withMap.heapUsed - before.heapUsed) / 2 ** 20,
  };
  if (name === 'map') {
    metrics.getPerSec = timeGets(count, lookupKeys(count), (key) => map.get(key));
    return metrics;
  }
  // The first range call: build, then the walk of 100k.
  start = performance.now();
  index = OrderedIndex.fromMap(map);
  const iterator = index.range({ gte: rangeStart, limit: rangeLength });
  metrics.buildMs = performance.now() - start;
  // The sort's share, measured after the build (which ran it cold).
  metrics.sortMs = medianMs(1, () => sortedOrder([...map.keys()]));
  if (consume(iterator) !== rangeLength) throw new Error('short range');
  const withIndex = settledMemory();
  metrics.rssMb = (withIndex.rss - before.rss) / 2 ** 20;
  metrics.heapMb = (withIndex.heapUsed - before.heapUsed) / 2 ** 20;
  metrics.rssMapOnlyMb = (withMap.rss - before.rss) / 2 ** 20;
  metrics.rssTotalRatio = withIndex.rss / withMap.rss;
  if (name === 'lazy-sorted') return metrics;
  const live = index;
  metrics.rangeMs = medianMs(
    5,
    () => {
      if (consume(live.range({ gte: rangeStart, limit: rangeLength })) !== rangeLength) throw new Error('short range');
    },
    true,
  );
  metrics.rangeReverseMs = medianMs(
    5,
    () => {
      if (consume(live.range({ lt: rangeStart, limit: rangeLength, reverse: true })) !== rangeLength) throw new Error('short range');
    },
    true,
  );
  const keys = lookupKeys(count);
  metrics.getPerSec = timeGets(count, keys, (key) => map.get(key));
  // Writes once the index is live: overwrites of random keys (Map + tree).
  const picks = randomIndices(count, count, 9);
  start = performance.now();
  for (let i = 0; i < count; i++) set(keys[picks[i]], values[i & 255]);
  metrics.setIndexedPerSec = perSecond(count, performance.now() - start);
  return metrics;
}

function compareCosts(count: number): Metrics {
  const keys = insertionKeys(count, false);
  const shuffled = insertionKeys(count, true);
  const metrics: Metrics = {};
  for (const [label, compare] of [
    ['lt', ltCompare],
    ['utf8', compareKeys],
  ] as const) {
    // Neighbours in key order share 11-15 leading units (the B-tree's case); shuffled pairs differ early.
    metrics[`${label}AdjacentNs`] =
      medianMs(3, () => {
        let sum = 0;
        for (let i = 1; i < count; i++) sum += compare(keys[i - 1], keys[i]);
        if (sum === 0) throw new Error('unreachable');
      }) *
      (1e6 / count);
    metrics[`${label}ShuffledNs`] =
      medianMs(3, () => {
        let sum = 0;
        for (let i = 1; i < count; i++) sum += compare(shuffled[i - 1], shuffled[i]);
        if (Number.isNaN(sum)) throw new Error('unreachable');
      }) *
      (1e6 / count);
    metrics[`${label}SortMs`] = medianMs(1, () => shuffled.slice().sort(compare));
  }
  metrics.radixSortMs = medianMs(3, () => sortedOrder(shuffled));
  metrics.highCheckNs =
    medianMs(3, () => {
      let high = 0;
      for (let i = 0; i < count; i++) if (hasHighUnits(shuffled[i])) high++;
      if (high !== 0) throw new Error('unreachable');
    }) *
    (1e6 / count);
  return metrics;
}

async function lmdbRange(dir: string, count: number, rangeStart: string): Promise<Metrics> {
  const { open } = await import('lmdb');
  const db = open<string, string>({ path: dir, encoding: 'string', noSync: true });
  if (db.getCount() !== count) {
    const values = makeValues();
    await db.transaction(() => {
      for (let i = 0; i < count; i++) db.putSync(keyFor(i), values[i & 255]);
    });
  }
  const walk = (): void => {
    let seen = 0;
    for (const _ of db.getRange({ start: rangeStart, limit: rangeLength })) seen++;
    if (seen !== rangeLength) throw new Error('short lmdb range');
  };
  const rangeMs = medianMs(5, walk, true);
  await db.close();
  return { rangeMs };
}

async function main(): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  if (process.argv[2] === '--child') {
    const result = await child(process.argv[3] as Case, Number(process.argv[4]), process.argv[5]);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const count = argument('--keys', 1_000_000);
  const runs = argument('--runs', 3);
  const only = process.argv.indexOf('--cases') >= 0 ? process.argv[process.argv.indexOf('--cases') + 1].split(',') : undefined;
  const lmdbDir = mkdtempSync(path.join(os.tmpdir(), 'ordered-index-bench-'));
  const samples = new Map<Case, Metrics[]>(cases.map((c) => [c, []]));
  try {
    for (let run = 0; run < runs; run++) {
      for (const name of cases) {
        if (only !== undefined && !only.includes(name)) continue;
        const args = ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', script, '--child', name, String(count), lmdbDir];
        const out = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (out.status !== 0) throw new Error(`${name} failed: ${out.stderr}`);
        samples.get(name)?.push(JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}'));
        process.stderr.write(`run ${run + 1}/${runs} ${name} done\n`);
      }
    }
  } finally {
    rmSync(lmdbDir, { recursive: true, force: true });
  }
  const med = (name: Case, metric: string): number | undefined => {
    const values = (samples.get(name) ?? []).map((m) => m[metric]).filter((v) => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  const fmt = (v: number | undefined, digits = 0): string =>
    v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits });
  const ratio = (v: number | undefined, base: number | undefined): string =>
    v === undefined || base === undefined ? '' : ` (${(v / base).toFixed(2)}×)`;
  const mapSet = med('map', 'setPerSec');
  const mapGet = med('map', 'getPerSec');
  const mapRss = med('map', 'rssMb');
  const lmdbMs = med('lmdb', 'rangeMs');
  console.log(`ordered index candidates: ${count.toLocaleString('en-US')} keys, medians of ${runs} runs (fresh process each)\n`);
  console.log(
    '| candidate | set/s (vs Map) | get/s (vs Map) | first range call: build ms (sort ms) | range 100k ms (lmdb ÷ it) | reverse 100k ms | set/s with index live (vs Map) | RSS MB over baseline (vs Map) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const name of ['map', 'btree', 'btree-lt', 'lazy', 'lazy-sorted', 'lmdb'] as const) {
    const range = med(name, 'rangeMs');
    const speedup = range !== undefined && lmdbMs !== undefined && name !== 'lmdb' ? ` (${(lmdbMs / range).toFixed(1)}×)` : '';
    const build = med(name, 'buildMs');
    const cells = [
      name,
      `${fmt(med(name, 'setPerSec'))}${ratio(med(name, 'setPerSec'), mapSet)}`,
      `${fmt(med(name, 'getPerSec'))}${ratio(med(name, 'getPerSec'), mapGet)}`,
      build === undefined ? '–' : `${fmt(build)} (${fmt(med(name, 'sortMs'))})`,
      `${fmt(range, 1)}${speedup}`,
      fmt(med(name, 'rangeReverseMs'), 1),
      `${fmt(med(name, 'setIndexedPerSec'))}${ratio(med(name, 'setIndexedPerSec'), mapSet)}`,
      `${fmt(med(name, 'rssMb'))}${ratio(med(name, 'rssMb'), mapRss)}`,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log(`\nlazy: process RSS with the index ÷ without it (same process): ${fmt(med('lazy', 'rssTotalRatio'), 3)}`);
  console.log(`lazy-sorted (map filled in key order): process RSS ratio ${fmt(med('lazy-sorted', 'rssTotalRatio'), 3)}`);
  console.log('\ncomparator cost (ns per call; sort = Array#sort of the shuffled keys, ms):');
  console.log('| comparator | adjacent keys (shared prefix) | shuffled pairs | Array#sort 1M ms |');
  console.log('|---|---|---|---|');
  console.log(
    `| a < b | ${fmt(med('compare', 'ltAdjacentNs'), 1)} | ${fmt(med('compare', 'ltShuffledNs'), 1)} | ${fmt(med('compare', 'ltSortMs'))} |`,
  );
  console.log(
    `| compareKeys | ${fmt(med('compare', 'utf8AdjacentNs'), 1)} | ${fmt(med('compare', 'utf8ShuffledNs'), 1)} | ${fmt(med('compare', 'utf8SortMs'))} |`,
  );
  console.log(`| sortedOrder (radix) | | | ${fmt(med('compare', 'radixSortMs'))} |`);
  console.log(`\nhasHighUnits (regex, once per key set into the index): ${fmt(med('compare', 'highCheckNs'), 1)} ns per key`);
}

await main();
