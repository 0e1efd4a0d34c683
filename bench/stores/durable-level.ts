import { loadChunk, type BenchStore, type OpenOptions } from './store.js';

/**
 * durable-kv through its abstract-level adapter (`src/level`, `durable-kv/level`): the same store as
 * `durable-kv.ts`, reached the way a Level user reaches it. Durable = the store option
 * `sync: 'always'`, not durable = `sync: 'never'`: the adapter ignores a per-write `{ sync }`, so
 * the policy is the store's. 'utf8' keys and values, as classic-level's bench store; reads use
 * getSync. Loaded from src/, or from the copy `--freeze-src` took (BENCH_DKV_SRC), as durable-kv is.
 */
type LevelModule = typeof import('../../src/level/index.js');
const frozen = process.env.BENCH_DKV_SRC;
const { DurableLevel } = (await import(
  frozen ? new URL(`file://${frozen}/level/index.ts`).href : '../../src/level/index.js'
)) as LevelModule;

const rangeBatch = 1000;

export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  const db = new DurableLevel<string, string>(dir, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
    sync: options.durable ? 'always' : 'never',
    ...(options.autoSnapshot === undefined ? {} : { autoSnapshot: options.autoSnapshot }),
  });
  await db.open();
  return {
    put: (key, value) => db.put(key, value),
    get: (key) => db.getSync(key),
    // Async, as abstract-level's iterators are: the same nextv(1000) walk as classic-level's bench
    // store (the adapter's iterator walks an implicit snapshot of the store, taken at iterator()).
    async range(gte, limit) {
      const iterator = db.iterator({ gte, limit });
      let count = 0;
      try {
        for (;;) {
          const batch = await iterator.nextv(rangeBatch);
          if (batch.length === 0) break;
          for (const [key, value] of batch) if (key.length > 0 && value.length > 0) count++;
        }
      } finally {
        await iterator.close();
      }
      return count;
    },
    // Array batches as classic-level's (each one WAL record, durable under the store's sync policy).
    async load(count, key, value) {
      for (let start = 0; start < count; start += loadChunk) {
        const ops = [];
        for (let i = start; i < Math.min(count, start + loadChunk); i++) ops.push({ type: 'put' as const, key: key(i), value: value(i) });
        await db.batch(ops);
      }
    },
    close: () => db.close(),
    info: () => ({ recovery: db.store.recoveryReport, stats: db.store.stats() }),
  };
}
