import { open as openLmdb } from 'lmdb';
import { loadChunk, type BenchStore, type OpenOptions } from './store.js';

/**
 * lmdb-js. Its put promise resolves at commit, before the fsync (overlappingSync), so a durable put
 * here also waits for the flush: `separateFlushed` plus `db.flushed`. Not durable = `noSync`.
 */
export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  const db = openLmdb<string, string>({ path: dir, encoding: 'string', separateFlushed: true, noSync: !options.durable });
  const durable = options.durable;
  return {
    async put(key, value) {
      const committed = db.put(key, value);
      if (durable) await Promise.all([committed, db.flushed]);
      else await committed;
    },
    get: (key) => db.get(key),
    range(gte, limit) {
      let count = 0;
      for (const { key, value } of db.getRange({ start: gte, limit })) if (key.length > 0 && value.length > 0) count++;
      return count;
    },
    async load(count, key, value) {
      for (let start = 0; start < count; start += loadChunk) {
        await db.batch(() => {
          for (let i = start; i < Math.min(count, start + loadChunk); i++) void db.put(key(i), value(i));
        });
      }
      await db.flushed;
    },
    close: () => db.close(),
  };
}
