import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { timed } from '../lib/windows.js';
import { settledMemory } from '../lib/memory.js';
import { keyFor, makeValues, prng, randomIndices } from '../lib/data.js';
import { median } from '../lib/stats.js';
import { openStore, storeOpener, type StoreName } from '../stores/store.js';
import type { Metrics, Sizes, Workload } from './workload.js';

/**
 * W8: range reads. A separate process writes N keys (1M full, 100k quick) twice, into two stores:
 * `shuffled` in a seeded random order, `key-order` in key order. A fresh process then opens each in
 * turn and walks ranges of L entries (100k full, 10k quick), reading every key and value
 * (`BenchStore.range`). On the shuffled store, the main figures:
 *
 * - the first range call, timed alone: for durable-kv it builds the ordered index (at the call),
 *   for raw it sorts the keys, for the others it is just the first walk of a freshly opened store;
 *   `first over warm` is that time minus a warm walk's median (what the first call adds);
 * - RSS (settled, after gc) after the open and after the first range: for durable-kv their ratio is
 *   what the ordered index costs (raw: its sorted key array). lmdb's RSS also counts the file pages
 *   it maps, so the anonymous-RSS ratio (Linux) is given as well;
 * - after an untimed warm-up walk over every key (JIT, lmdb's pages), entries/s over up to
 *   `w8Ranges` walks from seeded random starts (each a full L entries), capped by the deadline.
 *
 * Then, in the same process once the first store is closed, the first call and walk rate on the
 * key-order store. The load order matters to the
 * in-memory stores: the entries sit on the heap in the order they were recovered, so a walk in key
 * order over a shuffled load jumps around memory (cache misses), and sorting for the index costs more.
 *
 * The abstract-level stores (classic-level, durable-level, memory-level) are measured as they are:
 * their iterators are async (nextv batches of 1000); all the other stores walk synchronously, and no
 * `await` is paid per walk when the store's range is sync. memory-level has no disk: its "open"
 * replays the entries its load wrote to a file (see stores/memory-level.ts).
 */
export const w8: Workload = {
  id: 'W8',
  title: 'range reads',
  stores: ['durable-kv', 'durable-level', 'raw', 'lmdb', 'classic-level', 'memory-level', 'better-sqlite3'],
  metrics: [
    { key: 'entries_s', label: 'range walk rate', better: 'higher', unit: 'entries/s' },
    { key: 'first_range_ms', label: 'first range call (walk incl.)', better: 'lower', unit: 'ms' },
    { key: 'first_over_warm_ms', label: 'first call over a warm walk', better: 'lower', unit: 'ms' },
    { key: 'rss_open_mb', label: 'RSS after open', better: 'lower', unit: 'MB' },
    { key: 'rss_ratio', label: 'RSS after first range ÷ after open', better: 'lower', unit: '×' },
    { key: 'rss_anon_ratio', label: 'the same, anonymous RSS only', better: 'lower', unit: '×' },
    { key: 'sorted_entries_s', label: 'walk rate, keys loaded in key order', better: 'higher', unit: 'entries/s' },
    { key: 'sorted_first_range_ms', label: 'first range call, key-order load', better: 'lower', unit: 'ms' },
  ],
  async prepare({ store: name, dir, sizes }) {
    const values = makeValues();
    for (const [set, order] of [
      ['shuffled', shuffled(sizes.w8Keys)],
      ['key-order', undefined],
    ] as const) {
      const setDir = path.join(dir, set);
      fs.mkdirSync(setDir);
      const store = await openStore(name, setDir, { durable: false });
      const index = order === undefined ? (i: number) => i : (i: number) => order[i];
      await store.load(
        sizes.w8Keys,
        (i) => keyFor(index(i)),
        (i) => values[index(i) & 255],
      );
      await store.close();
    }
  },
  async measure({ store: name, dir, sizes }) {
    const main = await measureSet(name, path.join(dir, 'shuffled'), sizes, true);
    const sorted = await measureSet(name, path.join(dir, 'key-order'), sizes, false);
    return {
      metrics: {
        ...main.metrics,
        sorted_entries_s: sorted.metrics.entries_s,
        sorted_first_range_ms: sorted.metrics.first_range_ms,
        sorted_first_over_warm_ms: sorted.metrics.first_over_warm_ms,
        sorted_range_p50_ms: sorted.metrics.range_p50_ms,
      },
      info: main.info,
    };
  },
};

/** One store's figures; `memory`: also the settled RSS and heap (two full GCs each). */
async function measureSet(
  name: StoreName,
  dir: string,
  sizes: Sizes,
  memory: boolean,
): Promise<{ metrics: Metrics; info?: Record<string, unknown> }> {
  const keyCount = sizes.w8Keys;
  const length = Math.min(sizes.w8RangeLength, keyCount);
  // Starts drawn so every walk gets a full `length` entries.
  const startKeys = Array.from(randomIndices(sizes.w8Ranges, keyCount - length + 1, 8), keyFor);
  const firstKey = keyFor(randomIndices(1, keyCount - length + 1, 80)[0]);
  const warmKeys = Array.from({ length: Math.ceil(keyCount / length) }, (_, j) => keyFor(j * length));
  const set = path.basename(dir);
  const open = await storeOpener(name);
  const store = await timed(`open ${set}`, () => open(dir, { durable: true }));
  const range = store.range;
  if (range === undefined) throw new Error(`${name} has no range adapter`);
  // A sync store's count is used as is: no await (no microtask) per walk.
  const walk = (gte: string, limit: number): number | Promise<number> => range(gte, limit);
  const count = async (gte: string, limit: number): Promise<number> => walk(gte, limit);
  const opened = memory ? settledMemory() : undefined;
  const openedSplit = memory ? rssSplit() : undefined;

  let firstCount = 0;
  const firstMs = await timed(`first-range ${set}`, async () => {
    const startedAt = performance.now();
    const result = walk(firstKey, length);
    firstCount = typeof result === 'number' ? result : await result;
    return performance.now() - startedAt;
  });
  if (firstCount !== length) throw new Error(`first range: ${firstCount} of ${length} entries`);
  const first = memory ? settledMemory() : undefined;
  const firstSplit = memory ? rssSplit() : undefined;

  await timed(`warm-up ${set}`, async () => {
    for (const key of warmKeys) await count(key, length);
  });

  const walkMs: number[] = [];
  let entries = 0;
  const deadline = performance.now() + sizes.deadlineMs;
  const loopStartedAt = performance.now();
  await timed(`ranges ${set}`, async () => {
    for (const key of startKeys) {
      const startedAt = performance.now();
      const result = walk(key, length);
      const seen = typeof result === 'number' ? result : await result;
      walkMs.push(performance.now() - startedAt);
      if (seen !== length) throw new Error(`range from ${key}: ${seen} of ${length} entries`);
      entries += seen;
      if (performance.now() > deadline) break;
    }
  });
  const loopMs = performance.now() - loopStartedAt;

  // Bounds: gte is inclusive, and the walk stops at the last key.
  const last = keyFor(keyCount - 5);
  if ((await count(last, 10)) !== 5 || (await count(`${last}!`, 10)) !== 4) throw new Error('range bounds are wrong');
  const info = store.info?.();
  await store.close();
  const p50 = median(walkMs);
  const metrics: Metrics = {
    entries_s: (entries / loopMs) * 1000,
    first_range_ms: firstMs,
    first_over_warm_ms: firstMs - p50,
    range_p50_ms: p50,
    ranges: walkMs.length,
  };
  if (opened !== undefined && first !== undefined) {
    const mb = (bytes: number) => bytes / 2 ** 20;
    Object.assign(metrics, {
      rss_open_mb: mb(opened.rss),
      rss_first_mb: mb(first.rss),
      rss_ratio: first.rss / opened.rss,
      heap_open_mb: mb(opened.heapUsed),
      heap_first_mb: mb(first.heapUsed),
    });
    // Linux: RSS split into anonymous memory (heap, the index) and mapped file pages (lmdb's data).
    if (openedSplit !== undefined && firstSplit !== undefined) {
      Object.assign(metrics, {
        rss_anon_open_mb: mb(openedSplit.anon),
        rss_anon_first_mb: mb(firstSplit.anon),
        rss_anon_ratio: firstSplit.anon / openedSplit.anon,
        rss_file_open_mb: mb(openedSplit.file),
        rss_file_first_mb: mb(firstSplit.file),
      });
    }
  }
  return { metrics, info };
}

/** RssAnon and RssFile from /proc/self/status (bytes), or undefined where there is no such file. */
function rssSplit(): { anon: number; file: number } | undefined {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  const split = { anon: kib('RssAnon'), file: kib('RssFile') };
  return Number.isFinite(split.anon) && Number.isFinite(split.file) ? split : undefined;
}

/** 0..count-1 in a seeded random order (Fisher-Yates). */
function shuffled(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const random = prng(11);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
