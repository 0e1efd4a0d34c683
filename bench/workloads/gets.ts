import { performance } from 'node:perf_hooks';
import { directoryBytes } from '../lib/disk.js';
import { timed } from '../lib/windows.js';
import { settledMemory } from '../lib/memory.js';
import { keyFor, keysFor, makeValues, randomIndices, rawEntryBytes } from '../lib/data.js';
import { openStore, storeNames, storeOpener, type BenchStore } from '../stores/store.js';
import type { Workload } from './workload.js';

/**
 * W4: N keys written (in a separate process), then a fresh process opens the store and does random
 * point gets: once with the key strings built beforehand, once building each key per lookup
 * (`'key:' + String(i).padStart(12, '0')`, as an application would). Also: open time, RSS growth per
 * key against the plain data size (16 + 100 bytes), bytes on disk.
 */
export const w4: Workload = {
  id: 'W4',
  title: 'random point gets after reopen',
  stores: storeNames,
  metrics: [
    { key: 'gets_s_prepared', label: 'gets/s, keys prepared', better: 'higher', unit: 'ops/s' },
    { key: 'gets_s_built', label: 'gets/s, key built per get', better: 'higher', unit: 'ops/s' },
    { key: 'open_ms', label: 'open/recovery', better: 'lower', unit: 'ms' },
    { key: 'first_get_ms', label: 'open to first get', better: 'lower', unit: 'ms' },
    { key: 'warm_ms', label: 'then every key once', better: 'lower', unit: 'ms' },
    { key: 'rss_per_key_ratio', label: 'RSS per key / raw data', better: 'lower', unit: '×' },
    { key: 'rss_mb', label: 'process RSS with the keys', better: 'lower', unit: 'MB' },
    { key: 'disk_mb', label: 'bytes on disk', better: 'lower', unit: 'MB' },
  ],
  async prepare({ store: name, dir, sizes }) {
    const values = makeValues();
    const store = await openStore(name, dir, { durable: false });
    await store.load(sizes.w4Keys, keyFor, (i) => values[i & 255]);
    await store.close();
  },
  async measure({ store: name, dir, sizes }) {
    const keyCount = sizes.w4Keys;
    const getCount = sizes.w4Gets;
    const keys = keysFor(keyCount);
    const order = randomIndices(getCount, keyCount, 42);
    const open = await storeOpener(name);
    const before = settledMemory();
    const openedAt = performance.now();
    const store = await timed('open', () => open(dir, { durable: true }));
    const openMs = performance.now() - openedAt;
    if (store.get(keys[keyCount >> 1]) === undefined) throw new Error('the first get found nothing');
    const firstGetMs = performance.now() - openedAt;
    const opened = settledMemory();
    // Warm-up: every key once, so page faults of mmapped stores, JIT tiers and durable-kv's lazily
    // loaded snapshot blocks are out of the timed loops. Its time is open's other half for a lazy store.
    const warmStartedAt = performance.now();
    await timed('warm-up', () => timeGets(store, keyCount, (j) => keys[j]));
    const warmMs = performance.now() - warmStartedAt;
    const prepared = await timed('gets-prepared', () => timeGets(store, getCount, (j) => keys[order[j]]));
    const built = await timed('gets-built', () => timeGets(store, getCount, (j) => `key:${String(order[j]).padStart(12, '0')}`));
    const served = settledMemory();
    const info = store.info?.();
    await store.close();
    const disk = await directoryBytes(dir);
    const rssPerKey = (Math.max(opened.rss, served.rss) - before.rss) / keyCount;
    return {
      metrics: {
        gets_s_prepared: prepared,
        gets_s_built: built,
        open_ms: openMs,
        first_get_ms: firstGetMs,
        warm_ms: warmMs,
        rss_per_key_bytes: rssPerKey,
        rss_per_key_ratio: rssPerKey / rawEntryBytes,
        // The whole process, as Redis's used_memory_rss counts it (issue 15 compares with Redis).
        rss_mb: Math.max(opened.rss, served.rss) / 1e6,
        heap_per_key_bytes: (Math.max(opened.heapUsed, served.heapUsed) - before.heapUsed) / keyCount,
        rss_after_open_per_key_bytes: (opened.rss - before.rss) / keyCount,
        disk_mb: disk.allocated / 1e6,
        disk_logical_mb: disk.logical / 1e6,
      },
      info,
    };
  },
};

/** Gets per second over `count` lookups; every key must be found. */
function timeGets(store: BenchStore, count: number, keyAt: (j: number) => string): number {
  let found = 0;
  const startedAt = performance.now();
  for (let j = 0; j < count; j++) if (store.get(keyAt(j)) !== undefined) found++;
  const ms = performance.now() - startedAt;
  if (found !== count) throw new Error(`only ${found} of ${count} keys found`);
  return (count / ms) * 1000;
}
