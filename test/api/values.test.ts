import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

describe('odd keys and values round-trip across a restart', () => {
  const keyBytesMax = 1024;
  const odd: Array<[string, string]> = [
    ['', 'empty key'],
    ['|', '|'],
    ['\n', '\n'],
    ['\0', '\0'],
    ['\r\n', 'line one\r\nline two\r\n'],
    ['🎉', '🦄 emoji 👩‍👩‍👧'],
    ['PUT|1|x', 'PUT|2|y|z'],
    ['DELETE|1|x', ''],
    ['\\', '\\n is not a newline'],
    ['tab\there', '\u0001\u007f\u2028'],
    ['x'.repeat(keyBytesMax), 'longest ASCII key'],
    ['é'.repeat(keyBytesMax / 2), 'longest two-byte key'],
    ['😀'.repeat(keyBytesMax / 4), 'longest four-byte key'],
  ];

  it('reads back every key and value, before and after reopening', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { keyBytesMax });
    for (const [key, value] of odd) await store.put(key, value);
    const expected = new Map(odd);
    expect(new Map(store.entries())).toEqual(expected);
    await store.close();

    const reopened = closeAfterTest(await DurableKVStore.open(dir, { keyBytesMax }));
    expect(reopened.size).toBe(odd.length);
    for (const [key, value] of odd) expect(reopened.get(key)).toBe(value);
    expect(new Map(reopened.entries())).toEqual(expected);
  });

  it('reads them back from a snapshot too', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { keyBytesMax });
    await store.batch(odd.map(([key, value]) => ({ type: 'put' as const, key, value })));
    await store.snapshot();
    await store.close();

    const reopened = closeAfterTest(await DurableKVStore.open(dir, { keyBytesMax }));
    expect(reopened.recoveryReport.snapshot?.entries).toBe(odd.length);
    expect(new Map(reopened.entries())).toEqual(new Map(odd));
  });

  it('takes a key of exactly the default keyBytesMax (64 KiB) across a restart', async () => {
    const dir = await tempDir();
    const key = `${'K'.repeat(64 * 1024 - 4)}🎉`; // 65,536 UTF-8 bytes
    const store = await DurableKVStore.open(dir);
    await store.put(key, 'big key');
    await expect(store.put(`${key}x`, 'one byte over')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(reopened.get(key)).toBe('big key');
    expect([...reopened.keys()]).toEqual([key]);
  });

  it('deletes odd keys across a restart', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { keyBytesMax });
    for (const [key, value] of odd) await store.put(key, value);
    for (const [key] of odd.slice(0, 6)) await store.delete(key);
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir, { keyBytesMax }));
    expect(new Map(reopened.entries())).toEqual(new Map(odd.slice(6)));
  });
});

describe("valueEncoding: 'json'", () => {
  const values: Array<[string, unknown]> = [
    ['object', { name: 'Ada', tags: ['a', 'b'], nested: { deep: [1, { x: null }] } }],
    ['array', [1, 'two', false, null, { three: 3 }]],
    ['integer', 42],
    ['float', -0.125],
    ['zero', 0],
    ['null', null],
    ['false', false],
    ['string', 'with "quotes" and \\ and \n'],
    ['empty object', {}],
    ['unicode', { '🎉': 'ü' }],
  ];

  it('round-trips objects, arrays, numbers, booleans, strings and null across a restart', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { valueEncoding: 'json' });
    for (const [key, value] of values) await store.put(key, value);
    for (const [key, value] of values) expect(store.get(key)).toEqual(value);
    await store.close();

    const reopened = closeAfterTest(await DurableKVStore.open(dir, { valueEncoding: 'json' }));
    for (const [key, value] of values) expect(reopened.get(key)).toEqual(value);
    expect(reopened.has('null')).toBe(true);
  });

  it('returns a fresh object on every get: mutating it changes nothing stored', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir, { valueEncoding: 'json' }));
    await store.put('doc', { list: [1, 2], inner: { a: 1 } });
    const first = store.get('doc') as { list: number[]; inner: { a: number } };
    first.list.push(3);
    first.inner.a = 99;
    const second = store.get('doc');
    expect(second).not.toBe(first);
    expect(second).toEqual({ list: [1, 2], inner: { a: 1 } });
    const [, fromEntries] = [...store.entries()][0] as [string, { list: number[] }];
    fromEntries.list.length = 0;
    expect(store.get('doc')).toEqual({ list: [1, 2], inner: { a: 1 } });
  });

  it('stores the value as it was when put was called, not as mutated afterwards', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { valueEncoding: 'json' });
    const doc = { count: 1 };
    const written = store.put('doc', doc);
    doc.count = 2;
    await written;
    expect(store.get('doc')).toEqual({ count: 1 });
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir, { valueEncoding: 'json' }));
    expect(reopened.get('doc')).toEqual({ count: 1 });
  });
});

describe("valueEncoding: 'binary'", () => {
  const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

  it('round-trips Uint8Array and Buffer values byte for byte across a restart', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { valueEncoding: 'binary' });
    await store.put('u8', allBytes);
    await store.put('buffer', Buffer.from('héllo\0world', 'utf8'));
    await store.put('empty', new Uint8Array(0));
    await store.put('view', allBytes.subarray(10, 20)); // a view into a larger buffer: only its bytes count
    await store.put('invalid-utf8', Uint8Array.of(0xff, 0xfe, 0xc3));
    const check = (s: DurableKVStore<Uint8Array>) => {
      for (const key of ['u8', 'buffer', 'empty', 'view', 'invalid-utf8']) {
        const value = s.get(key);
        expect(value).toBeInstanceOf(Uint8Array);
        expect(Buffer.isBuffer(value)).toBe(true);
      }
      expect([...s.get('u8')!]).toEqual([...allBytes]);
      expect(Buffer.from(s.get('buffer')!).toString('utf8')).toBe('héllo\0world');
      expect(s.get('empty')!.byteLength).toBe(0);
      expect([...s.get('view')!]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      expect([...s.get('invalid-utf8')!]).toEqual([0xff, 0xfe, 0xc3]);
    };
    check(store);
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir, { valueEncoding: 'binary' }));
    check(reopened);
  });

  it('is not changed by mutating the input buffer after put', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { valueEncoding: 'binary' });
    const input = Buffer.from([1, 2, 3]);
    const written = store.put('k', input);
    input.fill(9); // before the write is even durable
    await written;
    const batchInput = Uint8Array.of(4, 5, 6);
    const batched = store.batch([{ type: 'put', key: 'b', value: batchInput }]);
    batchInput[0] = 0;
    await batched;
    expect([...store.get('k')!]).toEqual([1, 2, 3]);
    expect([...store.get('b')!]).toEqual([4, 5, 6]);
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir, { valueEncoding: 'binary' }));
    expect([...reopened.get('k')!]).toEqual([1, 2, 3]);
    expect([...reopened.get('b')!]).toEqual([4, 5, 6]);
  });

  it('is not changed by mutating a returned buffer', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir, { valueEncoding: 'binary' }));
    await store.put('k', Uint8Array.of(1, 2, 3));
    const returned = store.get('k')!;
    returned.fill(7);
    const [[, fromEntries]] = [...store.entries()];
    fromEntries.fill(8);
    expect([...store.get('k')!]).toEqual([1, 2, 3]);
    await store.snapshot();
    expect([...store.get('k')!]).toEqual([1, 2, 3]);
  });
});
