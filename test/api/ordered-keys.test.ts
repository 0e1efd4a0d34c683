/**
 * Ordered keys: `range`, `keys`, `values` and `entries` with range options, by trait: the order
 * (UTF-8 bytes, astral characters, the empty key), the bounds, direction and limit, consistency
 * while writes go on, persistence of the order, and bad options.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore, type RangeOptions } from '../../src/index.js';
import { MemoryFileSystem, Prng } from '../../src/testing/index.js';
import { expectCode, thrownBy } from '../helpers/errors.js';
import { readSnapshot } from '../../src/format/snapshot-reader.js';

const dir = '/db';

async function storeWith(keys: readonly string[], options: { valueEncoding?: 'utf8' | 'json' } = {}) {
  const fs = new MemoryFileSystem();
  const store = (await DurableKVStore.open(dir, { fs, ...options })) as DurableKVStore<string>;
  await store.batch(keys.map((key) => ({ type: 'put' as const, key, value: `v:${key}` })));
  return { fs, store };
}

/** UTF-8 byte order, the reference every read is checked against. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** What `range(options)` must return, computed the slow and obvious way. */
function expected(keys: readonly string[], options: RangeOptions = {}): string[] {
  const { gt, gte, lt, lte, prefix = '', reverse = false, limit = Number.POSITIVE_INFINITY } = options;
  const inRange = (key: string) =>
    (gt === undefined || byBytes(key, gt) > 0) &&
    (gte === undefined || byBytes(key, gte) >= 0) &&
    (lt === undefined || byBytes(key, lt) < 0) &&
    (lte === undefined || byBytes(key, lte) <= 0) &&
    key.startsWith(prefix);
  const sorted = [...new Set(keys)].filter(inRange).sort(byBytes);
  if (reverse) sorted.reverse();
  return sorted.slice(0, limit);
}

describe('order: UTF-8 bytes, as LevelDB, LMDB and Redis order keys', () => {
  const keys = ['b', 'a', '', 'ab', 'a\u0000', '\uffff', '😀', '\ue000', 'Z', 'é', 'a😀', 'a\uffff'];

  it('keys() walks every key in UTF-8 byte order: the empty key first, astral characters after U+FFFF', async () => {
    const { store } = await storeWith(keys);
    const walked = [...store.keys()];
    expect(walked).toEqual([...keys].sort(byBytes));
    expect(walked[0]).toBe('');
    expect(walked.indexOf('😀')).toBeGreaterThan(walked.indexOf('\uffff')); // JavaScript's < says the opposite
    expect([...store.entries()]).toEqual(walked.map((key) => [key, `v:${key}`]));
    expect([...store.values()]).toEqual(walked.map((key) => `v:${key}`));
    await store.close();
  });

  it('is the same order after a reopen from the WAL and from a snapshot', async () => {
    const { fs, store } = await storeWith(keys);
    await store.close();
    const fromWal = await DurableKVStore.open(dir, { fs });
    expect([...fromWal.keys()]).toEqual([...keys].sort(byBytes));
    await fromWal.snapshot();
    await fromWal.close();
    const fromSnapshot = await DurableKVStore.open(dir, { fs });
    expect([...fromSnapshot.keys()]).toEqual([...keys].sort(byBytes));
    await fromSnapshot.close();
  });
});

describe('bounds, prefix, direction and limit', () => {
  const keys = Array.from({ length: 40 }, (_, i) => `user:${i % 4}:session:${String(i).padStart(2, '0')}`);
  keys.push('user:', 'user;', 'user', 'users', 'a', 'zz');

  const cases: RangeOptions[] = [
    {},
    { gte: 'user:1' },
    { gt: 'user:1:session:05' },
    { lt: 'user:2' },
    { lte: 'user:2:session:10' },
    { gte: 'user:1', lt: 'user:3' },
    { gt: 'user:1:session:01', lte: 'user:1:session:33' },
    { prefix: 'user:2:' },
    { prefix: 'user:2:', gt: 'user:2:session:10' },
    { prefix: 'user:2:', lt: 'user:2:session:10', reverse: true },
    { prefix: 'user' },
    { prefix: 'nothing' },
    { prefix: 'user:1', gte: 'user:3' },
    { gte: 'm', lt: 'b' },
    { gt: 'zz' },
    { reverse: true },
    { reverse: true, limit: 3 },
    { limit: 0 },
    { limit: 5 },
    { limit: Number.POSITIVE_INFINITY, reverse: true, prefix: 'user:3' },
    { prefix: '', gte: '' },
    { lte: '' },
  ];

  it.each(cases.map((options) => [JSON.stringify(options), options] as const))('range(%s)', async (_name, options) => {
    const { store } = await storeWith(keys);
    expect([...store.keys(options)]).toEqual(expected(keys, options));
    expect([...store.range(options)]).toEqual(expected(keys, options).map((key) => [key, `v:${key}`]));
    await store.close();
  });

  it('agrees with a model on random keys and random ranges (astral and U+FFFF keys too)', async () => {
    const prng = new Prng(20261201);
    const alphabet = ['a', 'b', 'z', '\u00e9', '\uffff', '\ue000', '😀', '\u0000', '/'];
    const word = (length: number) => Array.from({ length }, () => prng.pick(alphabet)).join('');
    const model = new Set<string>();
    const { store } = await storeWith([]);
    for (let round = 0; round < 30; round++) {
      const writes = Array.from({ length: 20 }, () => word(prng.int(4)));
      for (const key of writes) {
        if (prng.chance(0.2) && model.has(key)) {
          await store.delete(key);
          model.delete(key);
        } else {
          await store.put(key, `v:${key}`);
          model.add(key);
        }
      }
      for (let query = 0; query < 10; query++) {
        const options: RangeOptions = {};
        if (prng.chance(0.5)) options[prng.chance(0.5) ? 'gt' : 'gte'] = word(prng.int(3));
        if (prng.chance(0.5)) options[prng.chance(0.5) ? 'lt' : 'lte'] = word(prng.int(3));
        if (prng.chance(0.3)) options.prefix = word(1 + prng.int(2));
        if (prng.chance(0.5)) options.reverse = true;
        if (prng.chance(0.3)) options.limit = prng.int(6);
        expect([...store.keys(options)], JSON.stringify(options)).toEqual(expected([...model], options));
      }
    }
    await store.close();
  });
});

describe('consistency: what a read yields is the store as it was at the call', () => {
  it('writes and deletes made while a range is walked do not show in it', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const { store } = await storeWith(keys);
    const walk = store.range({ gte: 'k010', lt: 'k090' });
    const keysAtCall = store.keys();
    const seen: string[] = [];
    for (const [key, value] of walk) {
      seen.push(key);
      expect(value).toBe(`v:${key}`);
      if (seen.length === 5) {
        await store.delete('k050');
        await store.put('k0505', 'new');
        await store.put('k060', 'changed');
        await store.batch([{ type: 'delete', key: 'k011' }]);
      }
    }
    expect(seen).toEqual(keys.slice(10, 90));
    expect([...keysAtCall]).toEqual(keys);
    expect(store.get('k060')).toBe('changed');
    expect([...store.keys({ gte: 'k050', lt: 'k051' })]).toEqual(['k0505']);
    await store.close();
  });

  it('a range taken while a snapshot is being written sees the writes made during it', async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    const { store } = await storeWith(keys);
    const snapshot = store.snapshot();
    await store.put('k00000x', 'during');
    await store.delete('k00001');
    expect([...store.keys({ lt: 'k00002' })]).toEqual(['k00000', 'k00000x']);
    await snapshot;
    expect([...store.keys({ lt: 'k00002' })]).toEqual(['k00000', 'k00000x']);
    await store.close();
  });

  it('checks the store state at the call: a range asked of a closed store throws at once', async () => {
    const { store } = await storeWith(['a']);
    await store.close();
    expectCode(
      thrownBy(() => store.range()),
      'ERR_STORE_CLOSED',
    );
    expectCode(
      thrownBy(() => store.keys({ prefix: 'a' })),
      'ERR_STORE_CLOSED',
    );
  });
});

describe('bad options: ERR_INVALID_ARG at the call, nothing read', () => {
  const bad: Array<[string, unknown]> = [
    ['a string', 'a'],
    ['null', null],
    ['an array', []],
    ['an unknown option', { start: 'a' }],
    ['gt as a number', { gt: 1 }],
    ['prefix as null', { prefix: null }],
    ['a lone surrogate', { gte: '\ud800' }],
    ['gt with gte', { gt: 'a', gte: 'b' }],
    ['lt with lte', { lt: 'a', lte: 'b' }],
    ['reverse as a string', { reverse: 'yes' }],
    ['limit -1', { limit: -1 }],
    ['limit 1.5', { limit: 1.5 }],
    ['limit NaN', { limit: Number.NaN }],
  ];

  it.each(bad)('%s', async (_name, options) => {
    const { store } = await storeWith(['a', 'b']);
    const reads: Array<(options: RangeOptions) => unknown> = [
      (o) => store.range(o),
      (o) => store.keys(o),
      (o) => store.values(o),
      (o) => store.entries(o),
    ];
    for (const read of reads)
      expectCode(
        thrownBy(() => read(options as RangeOptions)),
        'ERR_INVALID_ARG',
      );
    expect([...store.keys()]).toEqual(['a', 'b']);
    await store.close();
  });
});

describe('snapshot files hold the keys in the same order', () => {
  async function snapshotKeys(fs: MemoryFileSystem): Promise<string[]> {
    const name = (await fs.readdir(dir))
      .filter((file) => file.endsWith('.snap'))
      .sort()
      .at(-1);
    const handle = await fs.openRead(`${dir}/${name}`);
    const keys: string[] = [];
    await readSnapshot(handle, String(name), (key) => keys.push(key));
    await handle.close();
    return keys;
  }
  const keys = Array.from({ length: 9000 }, (_, i) => `${['😀', '\uffff', 'a', ''][i % 4]}${(i * 7919) % 9000}`);

  it('without the ordered index: the snapshot sorts the keys itself', async () => {
    const { fs, store } = await storeWith(keys);
    await store.snapshot();
    expect(await snapshotKeys(fs)).toEqual([...keys].sort(byBytes));
    await store.close();
  });

  it('with the ordered index built: the snapshot walks it', async () => {
    const { fs, store } = await storeWith(keys);
    expect([...store.keys({ limit: 1 })]).toEqual([[...keys].sort(byBytes)[0]]);
    await store.put('zz-after-the-index', 'x');
    await store.snapshot();
    expect(await snapshotKeys(fs)).toEqual([...keys, 'zz-after-the-index'].sort(byBytes));
    await store.close();
  });
});
