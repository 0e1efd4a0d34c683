import { ClassicLevel } from 'classic-level';
import { loadChunk, type BenchStore, type OpenOptions } from './store.js';

/** LevelDB through classic-level: durable = `{ sync: true }` on each write. Reads use getSync. */
export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const writeOptions = { sync: options.durable };
  return {
    put: (key, value) => db.put(key, value, writeOptions),
    get: (key) => db.getSync(key),
    async load(count, key, value) {
      for (let start = 0; start < count; start += loadChunk) {
        const ops = [];
        for (let i = start; i < Math.min(count, start + loadChunk); i++) ops.push({ type: 'put' as const, key: key(i), value: value(i) });
        const last = start + loadChunk >= count;
        await db.batch(ops, { sync: last });
      }
    },
    close: () => db.close(),
  };
}
