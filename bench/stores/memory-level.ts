import fs from 'node:fs';
import path from 'node:path';
import { MemoryLevel } from 'memory-level';
import { loadChunk, type BenchStore, type OpenOptions } from './store.js';

const rangeBatch = 1000;
/** What `load` leaves in the directory, so a later process (W4, W8) can open the same data. */
const dumpName = 'memory-level.dump.jsonl';

/**
 * memory-level: abstract-level over an in-memory red-black tree, no disk at all. `durable` changes
 * nothing (a put is acknowledged once it is in the tree): it is the floor of what the abstract-level
 * machinery costs, not a durable store. `storeEncoding: 'utf8'` (strings in the tree, no transcoding
 * of the bench's string keys and values); reads use getSync; range walks are classic-level's
 * (nextv(1000) batches).
 *
 * The workloads that reopen data written by another process (W4, W8) need something to open: `load`
 * also writes its entries, in load order, to one JSON-lines file in the directory (one line per
 * chunk), and `open` replays that file into a new database in the same order and chunks, so the
 * tree is built in the order the data was loaded, as the other stores' recovery does. The open time
 * is that replay (parsing included), and the file is all there is on disk.
 */
export async function open(dir: string, _options: OpenOptions): Promise<BenchStore> {
  const db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8', storeEncoding: 'utf8' });
  await db.open();
  const dumpFile = path.join(dir, dumpName);
  if (fs.existsSync(dumpFile)) {
    for (const line of fs.readFileSync(dumpFile, 'utf8').split('\n')) {
      if (line === '') continue;
      const entries = JSON.parse(line) as Array<[string, string]>;
      await db.batch(entries.map(([key, value]) => ({ type: 'put' as const, key, value })));
    }
  }
  return {
    put: (key, value) => db.put(key, value),
    get: (key) => db.getSync(key),
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
    async load(count, key, value) {
      const dump = fs.openSync(dumpFile, 'a');
      try {
        for (let start = 0; start < count; start += loadChunk) {
          const ops = [];
          const entries: Array<[string, string]> = [];
          for (let i = start; i < Math.min(count, start + loadChunk); i++) {
            const entry: [string, string] = [key(i), value(i)];
            ops.push({ type: 'put' as const, key: entry[0], value: entry[1] });
            entries.push(entry);
          }
          await db.batch(ops);
          fs.writeSync(dump, `${JSON.stringify(entries)}\n`);
        }
      } finally {
        fs.closeSync(dump);
      }
    },
    close: () => db.close(),
  };
}
