import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DurableKVStore,
  InvalidArgumentError,
  StoreClosedError,
  StoreCorruptError,
  StoreFailedError,
  StoreLockedError,
  StoreOverloadedError,
  type StoreOptions,
} from '../../src/index.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, rejectionOf, thrownBy } from '../helpers/errors.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

const stored = { a: '1', b: '2', 'c|d': '3' };

async function storeWithData(dir: string, options: StoreOptions = {}): Promise<DurableKVStore> {
  const store = await DurableKVStore.open(dir, options);
  for (const [key, value] of Object.entries(stored)) await store.put(key, value);
  return store;
}

describe('ERR_INVALID_ARG', () => {
  const limits = { keyBytesMax: 16, valueBytesMax: 32 };
  const bad = (value: unknown) => value as string;
  const rejected: Array<[string, (store: DurableKVStore) => Promise<unknown>]> = [
    ['put with a number key', (s) => s.put(bad(1), 'v')],
    ['put with an object key', (s) => s.put(bad({}), 'v')],
    ['put with an undefined key', (s) => s.put(bad(undefined), 'v')],
    ['put with an undefined value', (s) => s.put('a', bad(undefined))],
    ['put with a number value (utf8)', (s) => s.put('a', bad(5))],
    ['put with a Buffer value (utf8)', (s) => s.put('a', bad(Buffer.from('x')))],
    ['put with a lone surrogate key', (s) => s.put('\uD800', 'v')],
    ['put with a lone surrogate value', (s) => s.put('a', 'x\uDC00')],
    ['put with a key over keyBytesMax', (s) => s.put('k'.repeat(17), 'v')],
    ['put with a multi-byte key over keyBytesMax', (s) => s.put('é'.repeat(9), 'v')],
    ['put with a value over valueBytesMax', (s) => s.put('a', 'v'.repeat(33))],
    ['delete with a number key', (s) => s.delete(bad(3))],
    ['delete with a lone surrogate key', (s) => s.delete('\uDBFF')],
    ['delete with a key over keyBytesMax', (s) => s.delete('k'.repeat(17))],
    [
      'batch with a bad operation',
      (s) =>
        s.batch([
          { type: 'put', key: 'a', value: 'new' },
          { type: 'put', key: bad(1), value: 'v' },
        ]),
    ],
  ];

  it.each(rejected)('rejects %s and leaves stored data intact', async (_name, action) => {
    const dir = await tempDir();
    const store = await storeWithData(dir, limits);
    const error = await rejectionOf(() => action(store));
    expectCode(error, 'ERR_INVALID_ARG', InvalidArgumentError);
    expect(Object.fromEntries(store.entries())).toEqual(stored);
    expect(store.stats().lastSeq).toBe(3);
    await store.close();
    const reopened = closeAfterTest(await DurableKVStore.open(dir, limits));
    expect(Object.fromEntries(reopened.entries())).toEqual(stored);
    expect(reopened.stats().lastSeq).toBe(3);
  });

  it('accepts a key of exactly keyBytesMax bytes and a value of exactly valueBytesMax bytes', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir, limits));
    await store.put('é'.repeat(8), 'v'.repeat(32));
    expect(store.get('é'.repeat(8))).toBe('v'.repeat(32));
  });

  it('rejects values of the wrong type for json and binary encodings', async () => {
    const dir = await tempDir();
    const json = await DurableKVStore.open(path.join(dir, 'json'), { valueEncoding: 'json' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const value of [() => 1, Symbol('s'), 10n, circular, undefined]) {
      expectCode(await rejectionOf(() => json.put('k', value)), 'ERR_INVALID_ARG', InvalidArgumentError);
    }
    expect(json.size).toBe(0);
    await json.close();

    const binary = await DurableKVStore.open(path.join(dir, 'binary'), { valueEncoding: 'binary' });
    for (const value of ['text', [1, 2], new ArrayBuffer(2), 5, null]) {
      expectCode(await rejectionOf(() => binary.put('k', value as unknown as Uint8Array)), 'ERR_INVALID_ARG', InvalidArgumentError);
    }
    expect(binary.size).toBe(0);
    await binary.close();
  });

  const badOptions: Array<[string, unknown]> = [
    ['sync', { sync: 'sometimes' }],
    ['valueEncoding', { valueEncoding: 'hex' }],
    ['keyBytesMax: 0', { keyBytesMax: 0 }],
    ['valueBytesMax: -1', { valueBytesMax: -1 }],
    ['segmentBytesMax: 1.5', { segmentBytesMax: 1.5 }],
    ['batchOpsMax as a string', { batchOpsMax: '10' }],
    ['mailboxWritesMax: NaN', { mailboxWritesMax: Number.NaN }],
    ['syncIntervalMs: Infinity', { syncIntervalMs: Number.POSITIVE_INFINITY }],
    ['autoSnapshot as a string', { autoSnapshot: 'yes' }],
    ['autoSnapshot.walBytes: 0', { autoSnapshot: { walBytes: 0 } }],
    ['snapshotGenerations: 0', { snapshotGenerations: 0 }],
    ['snapshotGenerations: 17', { snapshotGenerations: 17 }],
    ['snapshotBlockBytes: 511', { snapshotBlockBytes: 511 }],
    ['snapshotBlockBytes: 16 MiB + 1', { snapshotBlockBytes: 16 * 1024 * 1024 + 1 }],
    ['options as a string', 'fast'],
  ];

  it.each(badOptions)('refuses to open with bad option %s, leaving the store openable', async (_name, options) => {
    const dir = await tempDir();
    const store = await storeWithData(dir);
    await store.close();
    expectCode(await rejectionOf(() => DurableKVStore.open(dir, options as StoreOptions)), 'ERR_INVALID_ARG', InvalidArgumentError);
    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(Object.fromEntries(reopened.entries())).toEqual(stored);
  });

  it('refuses an empty or non-string directory', async () => {
    expectCode(await rejectionOf(() => DurableKVStore.open('')), 'ERR_INVALID_ARG', InvalidArgumentError);
    expectCode(await rejectionOf(() => DurableKVStore.open(42 as unknown as string)), 'ERR_INVALID_ARG', InvalidArgumentError);
  });
});

describe('ERR_STORE_CLOSED', () => {
  it('is thrown synchronously by every read and rejected by every write once closed', async () => {
    const dir = await tempDir();
    const store = await storeWithData(dir);
    await store.close();
    expect(store.state).toBe('closed');

    const reads: Array<[string, () => unknown]> = [
      ['get', () => store.get('a')],
      ['has', () => store.has('a')],
      ['size', () => store.size],
      ['keys', () => store.keys()],
      ['entries', () => store.entries()],
      ['stats', () => store.stats()],
    ];
    for (const [name, read] of reads) {
      const error = thrownBy(read);
      expect(error, name).toBeInstanceOf(StoreClosedError);
      expectCode(error, 'ERR_STORE_CLOSED', StoreClosedError);
    }
    const writes: Array<() => Promise<unknown>> = [
      () => store.put('a', 'x'),
      () => store.delete('a'),
      () => store.batch([{ type: 'put', key: 'a', value: 'x' }]),
      () => store.batch([]),
      () => store.snapshot(),
    ];
    for (const write of writes) {
      const result = write();
      expect(result).toBeInstanceOf(Promise); // a rejection, not a throw
      expectCode(await rejectionOf(result), 'ERR_STORE_CLOSED', StoreClosedError);
    }

    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(Object.fromEntries(reopened.entries())).toEqual(stored);
  });

  it('rejects writes issued while close() is in progress, while reads still work until closed', async () => {
    const dir = await tempDir();
    const store = await storeWithData(dir);
    const inFlight = store.put('in-flight', 'before close'); // issued before close: drained, not refused
    const closing = store.close();
    expect(store.state).toBe('closing');
    expectCode(await rejectionOf(() => store.put('late', 'x')), 'ERR_STORE_CLOSED', StoreClosedError);
    expectCode(await rejectionOf(() => store.delete('a')), 'ERR_STORE_CLOSED', StoreClosedError);
    expectCode(await rejectionOf(() => store.batch([{ type: 'delete', key: 'a' }])), 'ERR_STORE_CLOSED', StoreClosedError);
    expectCode(await rejectionOf(() => store.snapshot()), 'ERR_STORE_CLOSED', StoreClosedError);
    expect(store.get('a')).toBe('1');
    expect(store.has('b')).toBe(true);
    await expect(inFlight).resolves.toMatchObject({ ok: true });
    await closing;
    expectCode(
      thrownBy(() => store.get('a')),
      'ERR_STORE_CLOSED',
      StoreClosedError,
    );

    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(Object.fromEntries(reopened.entries())).toEqual({ ...stored, 'in-flight': 'before close' });
  });

  it('lets close be called twice, concurrently or after closing', async () => {
    const dir = await tempDir();
    const store = await storeWithData(dir);
    const first = store.close();
    const second = store.close();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await expect(store.close()).resolves.toBeUndefined();
    expect(store.state).toBe('closed');
  });
});

describe('ERR_STORE_LOCKED', () => {
  it('refuses a second open of the same directory in this process until the first closes', async () => {
    const dir = await tempDir();
    const first = await storeWithData(dir);
    const error = await rejectionOf(() => DurableKVStore.open(dir));
    expectCode(error, 'ERR_STORE_LOCKED', StoreLockedError);
    expect((error as StoreLockedError).dir).toBe(path.resolve(dir));
    expectCode(await rejectionOf(() => DurableKVStore.repair(dir)), 'ERR_STORE_LOCKED', StoreLockedError);

    // The refused open took nothing from the first store.
    await first.put('still', 'writable');
    await first.close();
    const second = closeAfterTest(await DurableKVStore.open(dir));
    expect(Object.fromEntries(second.entries())).toEqual({ ...stored, still: 'writable' });
  });

  it('releases the lock when an open fails, so a later open succeeds once the directory is repaired', async () => {
    const dir = await tempDir();
    const store = await storeWithData(dir);
    await store.close();
    const segment = path.join(dir, (await readdir(dir)).find((name) => name.endsWith('.wal'))!);
    const good = await readFile(segment);
    const damaged = Buffer.from(good);
    damaged[16 + 20] ^= 0x01; // inside the first record's payload; valid records follow
    await writeFile(segment, damaged);

    expectCode(await rejectionOf(() => DurableKVStore.open(dir)), 'ERR_STORE_CORRUPT', StoreCorruptError);
    expectCode(await rejectionOf(() => DurableKVStore.open(dir)), 'ERR_STORE_CORRUPT', StoreCorruptError); // not LOCKED
    await writeFile(segment, good);
    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(Object.fromEntries(reopened.entries())).toEqual(stored);
  });
});

describe('ERR_STORE_CORRUPT', () => {
  it('carries the damaged file and the offset of the damage', async () => {
    const dir = await tempDir();
    const store = await storeWithData(dir);
    await store.close();
    const name = (await readdir(dir)).find((file) => file.endsWith('.wal'))!;
    const bytes = await readFile(path.join(dir, name));
    const secondRecord = 16 + 20 + bytes.readUInt32LE(16 + 4); // segment header 16, record header 20
    bytes[secondRecord + 8] ^= 0x40; // its seq
    await writeFile(path.join(dir, name), bytes);

    const error = (await rejectionOf(() => DurableKVStore.open(dir))) as StoreCorruptError;
    expectCode(error, 'ERR_STORE_CORRUPT', StoreCorruptError);
    expect(error.file).toBe(name);
    expect(error.offset).toBe(secondRecord);
    expect(error.message).toContain(name);
  });
});

describe('ERR_STORE_FAILED', () => {
  it('rejects the write whose fsync failed and every later write; reads go on; close succeeds', async () => {
    const memory = new MemoryFileSystem();
    const faulty = new FaultyFileSystem({ inner: memory, seed: 7 });
    const errors: Error[] = [];
    const store = await storeWithData('/db', { fs: faulty, listeners: { error: (error) => errors.push(error) } });
    faulty.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });

    const failed = await rejectionOf(() => store.put('lost', 'x'));
    expectCode(failed, 'ERR_STORE_FAILED', StoreFailedError);
    expect(store.state).toBe('failed');
    expect(errors).toEqual([failed]);
    expectCode(await rejectionOf(() => store.put('later', 'y')), 'ERR_STORE_FAILED', StoreFailedError);
    expectCode(await rejectionOf(() => store.delete('a')), 'ERR_STORE_FAILED', StoreFailedError);
    expectCode(await rejectionOf(() => store.snapshot()), 'ERR_STORE_FAILED', StoreFailedError);
    expect(Object.fromEntries(store.entries())).toEqual(stored);
    await expect(store.close()).resolves.toBeUndefined();

    // A write that was refused, not acknowledged, may or may not be on disk (its bytes were written,
    // their fsync failed); everything acknowledged is there, and nothing issued after the failure.
    const reopened = closeAfterTest(await DurableKVStore.open('/db', { fs: memory }));
    const { lost, ...rest } = Object.fromEntries(reopened.entries());
    expect(rest).toEqual(stored);
    expect([undefined, 'x']).toContain(lost);
  });

  it('names a full disk in the message', async () => {
    const faulty = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 7 });
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: faulty }));
    faulty.failNth('append', 1, 'ENOSPC', { pathIncludes: '.wal' });
    const error = await rejectionOf(() => store.put('k', 'v'));
    expectCode(error, 'ERR_STORE_FAILED', StoreFailedError);
    expect(error.message).toMatch(/disk is full/);
  });
});

describe('ERR_STORE_OVERLOADED', () => {
  it('refuses writes beyond mailboxWritesMax, and the refused ones are not stored', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { mailboxWritesMax: 2 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.put(`k${i}`, 'v')));
    const refused = results.flatMap((result, i) => (result.status === 'rejected' ? [[i, result.reason] as const] : []));
    const accepted = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    for (const [, reason] of refused) expectCode(reason, 'ERR_STORE_OVERLOADED', StoreOverloadedError);
    // Once the queue drains, writes are accepted again.
    await expect(store.put('after', 'v')).resolves.toMatchObject({ ok: true });
    await store.close();

    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    for (const i of accepted) expect(reopened.get(`k${i}`)).toBe('v');
    for (const [i] of refused) expect(reopened.has(`k${i}`)).toBe(false);
    expect(reopened.size).toBe(accepted.length + 1);
  });

  it('refuses writes beyond mailboxBytesMax', async () => {
    const dir = await tempDir();
    const store = closeAfterTest(await DurableKVStore.open(dir, { mailboxBytesMax: 1000 }));
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.put(`k${i}`, 'v'.repeat(400))));
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const result of refused) expectCode((result as PromiseRejectedResult).reason, 'ERR_STORE_OVERLOADED', StoreOverloadedError);
  });
});
