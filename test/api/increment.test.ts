/**
 * increment: atomic, a missing key counts as 0, the value must be a decimal integer in every value
 * encoding, results stay within ±(2^53 − 1), and a refused increment writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore, NotANumberError, type StoreOptions } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';

const dir = '/db';
const max = Number.MAX_SAFE_INTEGER;

async function open<V = string>(options: StoreOptions = {}, fs = new MemoryFileSystem()) {
  return { fs, store: (await DurableKVStore.open(dir, { fs, ...options })) as unknown as DurableKVStore<V> };
}

describe('increment', () => {
  it('counts from 0 for a missing key and resolves the new value', async () => {
    const { store } = await open();
    expect(await store.increment('hits')).toBe(1);
    expect(await store.increment('hits', 41)).toBe(42);
    expect(await store.increment('hits', -50)).toBe(-8);
    expect(store.get('hits')).toBe('-8');
    await store.close();
  });

  it('loses no increment among racing callers', async () => {
    const { store } = await open();
    const results = await Promise.all(Array.from({ length: 500 }, () => store.increment('n')));
    expect(store.get('n')).toBe('500');
    expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    await store.close();
  });

  it("reads and writes numbers in every encoding: 'utf8' text, 'json' numbers, 'binary' ASCII digits", async () => {
    const utf8 = (await open()).store;
    await utf8.put('n', '10');
    expect(await utf8.increment('n', 5)).toBe(15);
    expect(utf8.get('n')).toBe('15');
    await utf8.close();
    const json = (await open<unknown>({ valueEncoding: 'json' })).store;
    await json.put('n', 10);
    expect(await json.increment('n', 5)).toBe(15);
    expect(json.get('n')).toBe(15);
    expect(await json.increment('fresh')).toBe(1);
    expect(json.get('fresh')).toBe(1);
    await json.close();
    const binary = (await open<Uint8Array>({ valueEncoding: 'binary' })).store;
    await binary.put('n', Buffer.from('10'));
    expect(await binary.increment('n', 5)).toBe(15);
    expect(Buffer.from(binary.get('n') as Uint8Array).toString()).toBe('15');
    expect(await binary.increment('fresh', 3)).toBe(3);
    expect(Buffer.from(binary.get('fresh') as Uint8Array).toString('latin1')).toBe('3');
    await binary.close();
  });

  it.each([['abc'], ['1.5'], [' 1'], ['+1'], ['01'], [''], ['9007199254740992'], ['1e3'], ['-0x1']])(
    'refuses %j with ERR_NOT_A_NUMBER and writes nothing',
    async (text) => {
      const { store } = await open();
      await store.put('n', text);
      const entry = store.getEntry('n');
      const seq = store.stats().lastSeq;
      const error = await rejectionOf(store.increment('n'));
      expectCode(error, 'ERR_NOT_A_NUMBER', NotANumberError);
      expect(store.getEntry('n')).toEqual(entry);
      expect(store.stats().lastSeq).toBe(seq);
      await store.close();
    },
  );

  it('reaches ±(2^53 − 1) exactly and refuses to pass it', async () => {
    const { store } = await open();
    await store.put('n', String(max - 1));
    expect(await store.increment('n')).toBe(max);
    expectCode(await rejectionOf(store.increment('n')), 'ERR_NOT_A_NUMBER');
    expect(store.get('n')).toBe(String(max));
    await store.put('m', String(-max + 1));
    expect(await store.increment('m', -1)).toBe(-max);
    expectCode(await rejectionOf(store.increment('m', -1)), 'ERR_NOT_A_NUMBER');
    expect(await store.increment('m', max)).toBe(0);
    await store.close();
  });

  it('refuses a delta that is not a safe integer with ERR_INVALID_ARG', async () => {
    const { store } = await open();
    for (const delta of [1.5, Number.NaN, max + 1, '1' as unknown as number, Number.POSITIVE_INFINITY]) {
      expectCode(await rejectionOf(() => store.increment('n', delta)), 'ERR_INVALID_ARG');
    }
    expect(store.has('n')).toBe(false);
    await store.close();
  });

  it('keeps an existing expiry unless given one, and sets one when given', async () => {
    const now = 5_000_000;
    const { store } = await open({ clock: () => now });
    await store.put('n', '1', { ttlMs: 1000 });
    await store.increment('n');
    expect(store.getEntry('n')?.expiresAt).toBe(now + 1000);
    await store.increment('n', 1, { ttlMs: 50 });
    expect(store.getEntry('n')).toMatchObject({ value: '3', expiresAt: now + 50 });
    await store.increment('fresh', 1, { expiresAt: now + 9 });
    expect(store.getEntry('fresh')?.expiresAt).toBe(now + 9);
    await store.close();
  });

  it('an expired counter starts again from 0', async () => {
    let now = 5_000_000;
    const { store } = await open({ clock: () => now });
    await store.increment('window', 7, { ttlMs: 100 });
    now += 100;
    expect(await store.increment('window')).toBe(1);
    expect(store.getEntry('window')?.expiresAt).toBeNull();
    await store.close();
  });

  it('in a batch: all increments apply or none (one that is not a number refuses the whole batch)', async () => {
    const { store } = await open();
    await store.put('text', 'hello');
    await store.put('a', '1');
    expectCode(
      await rejectionOf(
        store.batch([
          { type: 'increment', key: 'a', delta: 5 },
          { type: 'increment', key: 'text' },
        ]),
      ),
      'ERR_NOT_A_NUMBER',
    );
    expect(store.get('a')).toBe('1');
    const result = await store.batch([
      { type: 'increment', key: 'a', delta: 5 },
      { type: 'increment', key: 'a', delta: 5 },
      { type: 'put', key: 'b', value: '7' },
      { type: 'increment', key: 'b' },
    ]);
    expect(result.ok).toBe(true);
    expect([store.get('a'), store.get('b')]).toEqual(['11', '8']);
    await store.close();
  });

  it('survives a power loss as the value it wrote', async () => {
    const { fs, store } = await open();
    for (let i = 0; i < 20; i++) await store.increment('n', i);
    const entry = store.getEntry('n');
    fs.crash();
    const recovered = (await open({}, fs)).store;
    expect(recovered.getEntry('n')).toEqual(entry);
    expect(entry?.value).toBe(String((19 * 20) / 2));
    await recovered.close();
  });
});
