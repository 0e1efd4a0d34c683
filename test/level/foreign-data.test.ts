/**
 * A directory that holds a LevelDB database (made by classic-level) is refused, not opened as an
 * empty store beside it; its data is left as it was, and can be moved over by iterating it.
 */
import { readdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { DurableLevel } from '../../src/level/index.js';
import { tempDir } from '../helpers/temp-dir.js';

async function leveldbWith(dir: string, entries: Record<string, string>): Promise<void> {
  const db = new ClassicLevel<string, string>(dir);
  await db.batch(Object.entries(entries).map(([key, value]) => ({ type: 'put' as const, key, value })));
  await db.close();
}

describe('a LevelDB directory', () => {
  it('is refused with ERR_INVALID_ARG naming what it holds; no durable-kv file is written there and LevelDB still reads it', async () => {
    const dir = await tempDir();
    await leveldbWith(dir, { a: '1', b: '2' });
    const before = (await readdir(dir)).sort();
    const db = new DurableLevel(dir);
    const error = (await db.open().catch((caught: unknown) => caught)) as Error & { code?: string; cause?: Error & { code?: string } };
    expect(error.code).toBe('LEVEL_DATABASE_NOT_OPEN');
    expect(error.cause?.code).toBe('ERR_INVALID_ARG');
    expect(error.cause?.message).toMatch(/holds a LevelDB database/);
    expect((await readdir(dir)).sort()).toEqual(before);
    const leveldb = new ClassicLevel<string, string>(dir);
    expect(await leveldb.getMany(['a', 'b'])).toEqual(['1', '2']);
    await leveldb.close();
  });

  it('can be copied into a DurableLevel by iterating it (the README recipe)', async () => {
    const from = await tempDir();
    const to = await tempDir();
    const entries = Object.fromEntries(Array.from({ length: 2_500 }, (_, i) => [`key:${String(i).padStart(5, '0')}`, `value ${i} é`]));
    await leveldbWith(from, entries);
    const source = new ClassicLevel(from, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const target = new DurableLevel(to, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await target.open();
    let batch = target.batch();
    let bytes = 0;
    for await (const [key, value] of source.iterator()) {
      batch.put(key, value);
      bytes += key.length + value.length;
      if (batch.length >= 1_000 || bytes >= 16 * 1024 * 1024) {
        await batch.write();
        batch = target.batch();
        bytes = 0;
      }
    }
    await batch.write();
    await source.close();
    await target.close();
    const reopened = new DurableLevel(to);
    expect(Object.fromEntries(await reopened.iterator().all())).toEqual(entries);
    await reopened.close();
  });
});
