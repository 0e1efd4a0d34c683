/**
 * deleteRange: one atomic WAL record holding the range; the same keys deleted live and on replay,
 * after a clean close and after a power loss; the change feed and the dump show it.
 */
import { describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { DurableKVStore, dumpWal, type RangeOptions } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';

const dir = '/db';
const keys = Array.from({ length: 30 }, (_, i) => `user:${i % 3}:${String(i).padStart(2, '0')}`);

async function openWith(fs: MemoryFileSystem) {
  return (await DurableKVStore.open(dir, { fs })) as DurableKVStore<string>;
}

async function filled() {
  const fs = new MemoryFileSystem();
  const store = await openWith(fs);
  await store.batch(keys.map((key) => ({ type: 'put' as const, key, value: `v:${key}` })));
  return { fs, store };
}

const sorted = (list: string[]) => [...list].sort();

describe('deleteRange', () => {
  const cases: Array<[RangeOptions, (key: string) => boolean]> = [
    [{ prefix: 'user:1:' }, (key) => key.startsWith('user:1:')],
    [{ gte: 'user:0:10', lt: 'user:2' }, (key) => key >= 'user:0:10' && key < 'user:2'],
    [{}, () => true],
    [{ prefix: 'nobody' }, () => false],
  ];

  it.each(cases.map(([options, match]) => [JSON.stringify(options), options, match] as const))(
    'deleteRange(%s) deletes exactly the keys in the range, as one record, and says how many',
    async (_name, options, match) => {
      const { store } = await filled();
      const before = store.stats().lastSeq;
      const result = await store.deleteRange(options);
      const gone = keys.filter(match);
      expect(result).toEqual({ ok: true, seq: before + 1, deleted: gone.length });
      expect(sorted([...store.keys()])).toEqual(sorted(keys.filter((key) => !match(key))));
      await store.close();
    },
  );

  it('with reverse and limit deletes the top keys of the range, and replay deletes the same ones', async () => {
    const { fs, store } = await filled();
    const inRange = sorted(keys.filter((key) => key.startsWith('user:2:')));
    const result = await store.deleteRange({ prefix: 'user:2:', reverse: true, limit: 3 });
    expect(result.deleted).toBe(3);
    const expected = sorted(keys.filter((key) => !inRange.slice(-3).includes(key)));
    expect(sorted([...store.keys()])).toEqual(expected);
    await store.close();
    const reopened = await openWith(fs);
    expect(sorted([...reopened.keys()])).toEqual(expected);
    await reopened.close();
  });

  it('orders with the writes around it: a put before it is deleted, a put after it stays, also on replay', async () => {
    const { fs, store } = await filled();
    const before = store.put('user:1:new-before', 'x');
    const deleting = store.deleteRange({ prefix: 'user:1:' });
    const after = store.put('user:1:new-after', 'y');
    await Promise.all([before, deleting, after]);
    const expected = sorted([...keys.filter((key) => !key.startsWith('user:1:')), 'user:1:new-after']);
    expect(sorted([...store.keys()])).toEqual(expected);
    await store.close();
    const reopened = await openWith(fs);
    expect(sorted([...reopened.keys()])).toEqual(expected);
    await reopened.close();
  });

  it('is durable once it resolves: a power loss right after keeps it', async () => {
    const { fs, store } = await filled();
    await store.deleteRange({ lt: 'user:1' });
    fs.crash();
    const reopened = await openWith(fs);
    expect(sorted([...reopened.keys()])).toEqual(sorted(keys.filter((key) => key >= 'user:1')));
    await reopened.close();
    await store.close().catch(() => undefined);
  });

  it('refuses bad options with ERR_INVALID_ARG, deleting nothing', async () => {
    const { store } = await filled();
    for (const options of [undefined, { gt: 1 }, { limit: -2 }, { gt: 'a', gte: 'b' }, 'all']) {
      expectCode(await rejectionOf(() => store.deleteRange(options as RangeOptions)), 'ERR_INVALID_ARG');
    }
    expect(store.size).toBe(keys.length);
    await store.close();
  });

  it('shows in the change feed (live and from history) and in the dump', async () => {
    const { fs, store } = await filled();
    const live = firstValueFrom(store.changes({ since: store.stats().lastSeq }).pipe(take(1), toArray()));
    const { seq } = await store.deleteRange({ prefix: 'user:0:', limit: 2 });
    expect(await live).toEqual([{ seq, ops: [{ type: 'deleteRange', range: { gte: 'user:0:', prefix: 'user:0:', limit: 2 } }] }]);
    const history = await firstValueFrom(store.changes({ since: seq - 1 }).pipe(take(1), toArray()));
    expect(history).toEqual(await live);
    await store.close();
    const lines: string[] = [];
    for await (const line of dumpWal(dir, { fs })) lines.push(line);
    expect(lines.at(-1)).toBe(`DELETE_RANGE|${seq}|{"gte":"user:0:","prefix":"user:0:","limit":2}`);
  });
});
