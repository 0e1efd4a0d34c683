import Database from 'better-sqlite3';
import path from 'node:path';
import type { BenchStore, OpenOptions } from './store.js';

/**
 * SQLite as a KV table (WITHOUT ROWID, WAL journal). Durable = synchronous=FULL, else OFF.
 * better-sqlite3 is synchronous: each put is its own autocommit transaction, so 64 "in flight"
 * writers still commit one by one (that is what this store offers).
 */
export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  const db = new Database(path.join(dir, 'kv.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.durable ? 'FULL' : 'OFF'}`);
  db.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID');
  const upsert = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
  const select = db.prepare<[string], string>('SELECT v FROM kv WHERE k = ?').pluck();
  // TEXT keys with the default BINARY collation compare as memcmp of their UTF-8: key order.
  const scan = db.prepare<[string, number], [string, string]>('SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?').raw();
  const loadMany = db.transaction((from: number, to: number, key: (i: number) => string, value: (i: number) => string) => {
    for (let i = from; i < to; i++) upsert.run(key(i), value(i));
  });
  return {
    async put(key, value) {
      upsert.run(key, value);
    },
    get: (key) => select.get(key),
    range(gte, limit) {
      let count = 0;
      for (const [key, value] of scan.iterate(gte, limit)) if (key.length > 0 && value.length > 0) count++;
      return count;
    },
    async load(count, key, value) {
      for (let start = 0; start < count; start += 10_000) loadMany(start, Math.min(count, start + 10_000), key, value);
    },
    async close() {
      db.close();
    },
  };
}
