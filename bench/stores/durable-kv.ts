import { loadChunk, type BenchStore, type OpenOptions } from './store.js';

/**
 * This repo's store: sync 'always' when durable, 'never' when not. Loaded from `../../src/index.js`,
 * or, with `npm run bench -- --freeze-src`, from the copy of src/ the run took when it started
 * (BENCH_DKV_SRC), so edits made while it runs cannot mix two versions into one table.
 */
type StoreModule = typeof import('../../src/index.js');
const frozen = process.env.BENCH_DKV_SRC;
const { DurableKVStore } = (await import(frozen ? new URL(`file://${frozen}/index.ts`).href : '../../src/index.js')) as StoreModule;

export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  return openDurableKV(dir, options, false);
}

/**
 * `conditional`:
 * - 'absent': every put is conditional (`ifAbsent: true`), with no read before it: the cost of a
 *   condition itself. W1–W3 put distinct keys, so every check passes, as `ifVersion` with the
 *   right version would: the same lookup and comparison when the write is sequenced.
 * - 'read': every put is a compare-and-set on the version read (`getEntry`) just before it: a whole
 *   read-modify-write.
 * Racing puts of one key then resolve `{ ok: false }`: still an acknowledged operation, checked in seq order.
 */
export async function openDurableKV(dir: string, options: OpenOptions, conditional: false | 'absent' | 'read'): Promise<BenchStore> {
  const store = await DurableKVStore.open(dir, {
    sync: options.durable ? 'always' : 'never',
    ...(options.autoSnapshot === undefined ? {} : { autoSnapshot: options.autoSnapshot }),
  });
  // Diagnostics, off by default (observing signals$ costs a little per group): group sizes, fsyncs.
  const counters = { groups: 0, groupRecords: 0, groupBytes: 0, fsyncs: 0, fsyncRecords: 0, fsyncMs: 0 };
  if (process.env.BENCH_COMMIT_STATS === '1') {
    store.signals$.subscribe((signal) => {
      if (signal.type === 'group-commit') {
        counters.groups++;
        counters.groupRecords += signal.records;
        counters.groupBytes += signal.bytes;
      } else if (signal.type === 'fsync') {
        counters.fsyncs++;
        counters.fsyncRecords += signal.records;
        counters.fsyncMs += signal.latencyMs;
      }
    });
  }
  return {
    counters: () => ({ ...counters }),
    put:
      conditional === 'read'
        ? (key, value) => {
            const entry = store.getEntry(key);
            return store.put(key, value, entry === undefined ? { ifAbsent: true } : { ifVersion: entry.version });
          }
        : conditional === 'absent'
          ? (key, value) => store.put(key, value, { ifAbsent: true })
          : (key, value) => store.put(key, value),
    get: (key) => store.get(key),
    // The first range call builds the ordered index (store.range does, at the call).
    range(gte, limit) {
      let count = 0;
      for (const [key, value] of store.range({ gte, limit })) if (key.length > 0 && value.length > 0) count++;
      return count;
    },
    async load(count, key, value) {
      for (let start = 0; start < count; start += loadChunk) {
        const ops = [];
        for (let i = start; i < Math.min(count, start + loadChunk); i++) ops.push({ type: 'put' as const, key: key(i), value: value(i) });
        await store.batch(ops);
      }
    },
    close: () => store.close(),
    snapshot: async () => {
      await store.snapshot();
    },
    info: () => ({ recovery: store.recoveryReport, stats: store.stats() }),
  };
}
