/**
 * Misuse, by trait (after abstract-level's suite): wrong argument types, oversize input, calls after
 * close, during close and in the same tick as close. Each gets a typed error with the expected code,
 * and what the store already held is intact afterwards (reopened and compared with a model Map).
 */
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DurableKVError, DurableKVStore, type StoreOptions } from '../../src/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { MemoryFileSystem, Prng } from '../../src/testing/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { contentsOf, dir, expectCode, modelContents, openStore, rejectionOf, thrownBy, type CodedError } from './helpers.js';

const limits = { keyBytesMax: 8, valueBytesMax: 16, batchOpsMax: 4 };

/** A store on a memory file system holding a few keys, with its model. */
async function seeded(options: StoreOptions = {}) {
  const memory = new MemoryFileSystem();
  const store = await openStore(memory, { ...limits, ...options });
  const model = new Map([
    ['a', '1'],
    ['b', '2'],
    ['c|d', '3'],
  ]);
  for (const [key, value] of model) await store.put(key, value);
  return { memory, store, model };
}

/** Reopens and checks the durable contents against the model. */
async function expectDurable(memory: MemoryFileSystem, model: ReadonlyMap<string, string>): Promise<void> {
  const reopened = await openStore(memory, limits);
  expect(contentsOf(reopened)).toEqual(modelContents(model));
  await reopened.close();
}

function expectTyped(error: CodedError, code: ErrorCode): void {
  expect(error, `${error.name}: ${error.message}`).toBeInstanceOf(DurableKVError);
  expectCode(error, code);
}

type Store = DurableKVStore<string>;
const bad = <T>(value: unknown) => value as T;

const invalidWrites: Array<[string, (store: Store) => Promise<unknown>]> = [
  ['put: a number key', (s) => s.put(bad(1), 'v')],
  ['put: a null key', (s) => s.put(bad(null), 'v')],
  ['put: an undefined key', (s) => s.put(bad(undefined), 'v')],
  ['put: a String object key', (s) => s.put(bad(new String('a')), 'v')],
  ['put: a symbol key', (s) => s.put(bad(Symbol('a')), 'v')],
  ['put: an array key', (s) => s.put(bad(['a']), 'v')],
  ['put: a lone-surrogate key', (s) => s.put('\uD800', 'v')],
  ['put: no value', (s) => bad<(key: string) => Promise<void>>(s.put.bind(s))('a')],
  ['put: a null value', (s) => s.put('a', bad(null))],
  ['put: a number value', (s) => s.put('a', bad(1))],
  ['put: a Buffer value (utf8)', (s) => s.put('a', bad(Buffer.from('x')))],
  ['put: an object value (utf8)', (s) => s.put('a', bad({ v: 1 }))],
  ['put: a lone-surrogate value', (s) => s.put('a', 'x\uDFFF')],
  ['delete: a number key', (s) => s.delete(bad(1))],
  ['delete: no key', (s) => bad<() => Promise<void>>(s.delete.bind(s))()],
  ['delete: a symbol key', (s) => s.delete(bad(Symbol('a')))],
  ['batch: null', (s) => s.batch(bad(null))],
  ['batch: no argument', (s) => bad<() => Promise<void>>(s.batch.bind(s))()],
  ['batch: a string', (s) => s.batch(bad('put a 1'))],
  ['batch: an array-like object', (s) => s.batch(bad({ length: 1, 0: { type: 'put', key: 'x', value: 'y' } }))],
  ['batch: a null operation', (s) => s.batch(bad([{ type: 'put', key: 'x', value: 'y' }, null]))],
  ['batch: a number operation', (s) => s.batch(bad([7]))],
  // A hole is skipped by Array.prototype.map: it must still be refused, not crash the encoder.
  // biome-ignore lint/suspicious/noSparseArray: the hole is the bad input under test
  ['batch: a sparse array', (s) => s.batch(bad([{ type: 'put', key: 'x', value: 'y' }, , { type: 'delete', key: 'a' }]))],
  ['batch: an operation without a type', (s) => s.batch(bad([{ key: 'x', value: 'y' }]))],
  ['batch: an unknown operation type', (s) => s.batch(bad([{ type: 'del', key: 'a' }]))],
  ['batch: a put without a value', (s) => s.batch(bad([{ type: 'put', key: 'x' }]))],
  [
    'batch: a delete with a number key',
    (s) =>
      s.batch(
        bad([
          { type: 'put', key: 'x', value: 'y' },
          { type: 'delete', key: 3 },
        ]),
      ),
  ],
];

const invalidReads: Array<[string, (store: Store) => unknown]> = [
  ['get: a number key', (s) => s.get(bad(1))],
  ['get: no key', (s) => bad<() => unknown>(s.get.bind(s))()],
  ['get: an object key', (s) => s.get(bad({ toString: () => 'a' }))],
  ['has: a null key', (s) => s.has(bad(null))],
  ['has: a String object key', (s) => s.has(bad(new String('a')))],
  ['changes: null options', (s) => s.changes(bad(null))],
  ['changes: a string', (s) => s.changes(bad('0'))],
  ['changes: a negative since', (s) => s.changes({ since: -1 })],
  ['changes: a fractional since', (s) => s.changes({ since: 1.5 })],
  ['changes: since as a string', (s) => s.changes({ since: bad('2') })],
];

describe('wrong argument types', () => {
  it.each(invalidWrites)('%s rejects with ERR_INVALID_ARG, writes nothing, and the store goes on', async (_name, write) => {
    const { memory, store, model } = await seeded();
    expectTyped(await rejectionOf(() => write(store)), 'ERR_INVALID_ARG');
    expect(store.state).toBe('ready');
    expect(contentsOf(store)).toEqual(modelContents(model));
    await store.put('after', 'ok');
    model.set('after', 'ok');
    await store.close();
    await expectDurable(memory, model);
  });

  it.each(invalidReads)('%s throws ERR_INVALID_ARG synchronously', async (_name, read) => {
    const { memory, store, model } = await seeded();
    expectTyped(
      thrownBy(() => read(store)),
      'ERR_INVALID_ARG',
    );
    expect(store.get('a')).toBe('1');
    await store.close();
    await expectDurable(memory, model);
  });

  it("rejects values the 'json' and 'binary' encodings cannot hold", async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const cases: Array<[StoreOptions['valueEncoding'], unknown[]]> = [
      [
        'json',
        [
          undefined,
          () => 1,
          Symbol('s'),
          10n,
          circular,
          {
            toJSON: () => {
              throw new Error('no');
            },
          },
        ],
      ],
      ['binary', [undefined, 'text', 5, null, [1, 2], new ArrayBuffer(2), { byteLength: 1 }]],
    ];
    for (const [valueEncoding, values] of cases) {
      const memory = new MemoryFileSystem();
      const store = (await DurableKVStore.open(dir, { fs: memory, valueEncoding })) as DurableKVStore<unknown>;
      await store.put('kept', valueEncoding === 'json' ? { kept: true } : Buffer.from('kept'));
      for (const value of values) {
        expectTyped(await rejectionOf(() => store.put('k', value)), 'ERR_INVALID_ARG');
        expectTyped(await rejectionOf(() => store.batch([{ type: 'put', key: 'k', value }])), 'ERR_INVALID_ARG');
      }
      await store.close();
      const reopened = (await DurableKVStore.open(dir, { fs: memory, valueEncoding })) as DurableKVStore<unknown>;
      expect([...reopened.keys()], valueEncoding).toEqual(['kept']);
      await reopened.close();
    }
  });
});

describe('open and repair with wrong arguments', () => {
  // Calls that might fall back to the real file system get a temporary directory, never '/db'.
  const badOpens: Array<[string, (memory: MemoryFileSystem, realDir: string) => Promise<unknown>]> = [
    ['a number directory', (fs) => DurableKVStore.open(bad(42), { fs })],
    ['an empty directory name', (fs) => DurableKVStore.open('', { fs })],
    ['options as a string', (_, realDir) => DurableKVStore.open(realDir, bad('fast'))],
    ['fs as a number', (_, realDir) => DurableKVStore.open(realDir, { fs: bad(123) })],
    ['fs as null', (_, realDir) => DurableKVStore.open(realDir, { fs: bad(null) })],
    ['fs without the FileSystem methods', (_, realDir) => DurableKVStore.open(realDir, { fs: bad({ mkdir: async () => undefined }) })],
    ['an unknown sync mode', (fs) => DurableKVStore.open(dir, { fs, sync: bad('sometimes') })],
    ['an unknown value encoding', (fs) => DurableKVStore.open(dir, { fs, valueEncoding: bad('hex') })],
    ['keyBytesMax: 0', (fs) => DurableKVStore.open(dir, { fs, keyBytesMax: 0 })],
    ['valueBytesMax as a string', (fs) => DurableKVStore.open(dir, { fs, valueBytesMax: bad('16') })],
    ['segmentBytesMax: NaN', (fs) => DurableKVStore.open(dir, { fs, segmentBytesMax: Number.NaN })],
    ['autoSnapshot as a string', (fs) => DurableKVStore.open(dir, { fs, autoSnapshot: bad('yes') })],
    ['listeners as a number', (fs) => DurableKVStore.open(dir, { fs, listeners: bad(5) })],
    ['a listener that is not a function', (fs) => DurableKVStore.open(dir, { fs, listeners: bad({ error: 'log it' }) })],
    ['repair of a number directory', (fs) => DurableKVStore.repair(bad(42), { fs })],
    ['repair of an empty directory name', (fs) => DurableKVStore.repair('', { fs })],
    ['repair with options as a string', (_, realDir) => DurableKVStore.repair(realDir, bad('x'))],
    ['repair with fs as a number', (_, realDir) => DurableKVStore.repair(realDir, { fs: bad(5) })],
  ];

  it.each(badOpens)('%s rejects with ERR_INVALID_ARG and leaves the store openable and intact', async (_name, call) => {
    const { memory, store, model } = await seeded();
    await store.close();
    const realDir = await tempDir('durable-kv-bad-open-');
    expectTyped(await rejectionOf(() => call(memory, realDir)), 'ERR_INVALID_ARG');
    expect(await readdir(realDir), 'nothing was created on the real file system').toEqual([]);
    await expectDurable(memory, model);
  });
});

describe('oversize keys, values and batches', () => {
  const oversize: Array<[string, (store: Store) => Promise<unknown>]> = [
    ['a key one byte over keyBytesMax', (s) => s.put('k'.repeat(9), 'v')],
    ['a multi-byte key over keyBytesMax (5 × 2 bytes)', (s) => s.put('é'.repeat(5), 'v')],
    ['an astral key over keyBytesMax (3 × 4 bytes)', (s) => s.put('😀'.repeat(3), 'v')],
    ['a value one byte over valueBytesMax', (s) => s.put('a', 'v'.repeat(17))],
    ['a multi-byte value over valueBytesMax (6 × 3 bytes)', (s) => s.put('a', '€'.repeat(6))],
    ['a delete with an oversize key', (s) => s.delete('k'.repeat(9))],
    ['a batch over batchOpsMax', (s) => s.batch(Array.from({ length: 5 }, (_, i) => ({ type: 'put' as const, key: `b${i}`, value: 'v' })))],
    [
      'a batch with one oversize value among good operations',
      (s) =>
        s.batch([
          { type: 'put', key: 'a', value: 'changed' },
          { type: 'put', key: 'big', value: 'v'.repeat(17) },
        ]),
    ],
  ];

  it.each(oversize)('%s rejects with ERR_INVALID_ARG and applies nothing', async (_name, write) => {
    const { memory, store, model } = await seeded();
    expectTyped(await rejectionOf(() => write(store)), 'ERR_INVALID_ARG');
    expect(contentsOf(store)).toEqual(modelContents(model));
    await store.close();
    await expectDurable(memory, model);
  });

  it('accepts keys, values and batches exactly at the limits', async () => {
    const { memory, store, model } = await seeded();
    await store.put('é'.repeat(4), `${'€'.repeat(5)}x`);
    model.set('é'.repeat(4), `${'€'.repeat(5)}x`);
    const batch = Array.from({ length: 4 }, (_, i) => ({ type: 'put' as const, key: `k${i}`.padEnd(8, '.'), value: 'v'.repeat(16) }));
    await store.batch(batch);
    for (const { key, value } of batch) model.set(key, value);
    await store.close();
    await expectDurable(memory, model);
  });
});

/** Every public call, each with the way it must refuse once the store is closed. */
function closedCalls(store: Store): { writes: Array<[string, () => Promise<unknown>]>; reads: Array<[string, () => unknown]> } {
  return {
    writes: [
      ['put', () => store.put('a', 'x')],
      ['delete', () => store.delete('a')],
      ['batch', () => store.batch([{ type: 'put', key: 'a', value: 'x' }])],
      ['empty batch', () => store.batch([])],
      ['snapshot', () => store.snapshot()],
      // The closed store is the first thing reported, whatever else is wrong with the call.
      ['put with a bad key', () => store.put(bad(1), 'x')],
    ],
    reads: [
      ['get', () => store.get('a')],
      ['has', () => store.has('a')],
      ['size', () => store.size],
      ['keys', () => store.keys()],
      ['entries', () => store.entries()],
      ['stats', () => store.stats()],
      ['changes', () => store.changes()],
    ],
  };
}

describe('after close', () => {
  it('rejects every write and throws on every read with ERR_STORE_CLOSED; close() again is fine', async () => {
    const { memory, store, model } = await seeded();
    await store.close();
    const { writes, reads } = closedCalls(store);
    for (const [, write] of writes) expectTyped(await rejectionOf(write), 'ERR_STORE_CLOSED');
    for (const [, read] of reads) expectTyped(thrownBy(read), 'ERR_STORE_CLOSED');
    await expect(store.close()).resolves.toBeUndefined();
    expect(store.state).toBe('closed');
    await expectDurable(memory, model);
  });
});

describe('during close', () => {
  it('refuses writes with ERR_STORE_CLOSED at once, serves reads until closed', async () => {
    const { memory, store, model } = await seeded();
    const closing = store.close();
    const { writes, reads } = closedCalls(store);
    const refused = writes.map(([, write]) => rejectionOf(write));
    // Documented: reads keep working until the state is 'closed' (checked in the same tick as close()).
    expect(store.state).toBe('closing');
    expect(contentsOf(store)).toEqual(modelContents(model));
    expect(store.has('b')).toBe(true);
    expect(store.stats().keys).toBe(model.size);
    for (const error of await Promise.all(refused)) expectTyped(error, 'ERR_STORE_CLOSED');
    await closing;
    for (const [, read] of reads) expectTyped(thrownBy(read), 'ERR_STORE_CLOSED');
    await expectDurable(memory, model);
  });
});

/**
 * Marks a promise as handled now and returns it: its outcome is asserted later, after other awaits,
 * and Node would otherwise report an early rejection as unhandled in between.
 */
function handledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

describe('concurrently with close (the same tick)', () => {
  it.each([1, 2, 3, 4])('drains the writes issued before close() and refuses those after (seed %i)', async (seed) => {
    const { memory, store, model } = await seeded();
    const prng = new Prng(seed);
    const closeAt = 5 + prng.int(20);
    const calls: Array<{ before: boolean; promise: Promise<unknown>; apply: () => void }> = [];
    let closing: Promise<void> | undefined;
    for (let i = 0; i < 30; i++) {
      if (i === closeAt) closing = store.close();
      const key = `k${prng.int(6)}`;
      const value = `v${i}`;
      const before = closing === undefined;
      const kind = prng.int(3);
      if (kind === 0) calls.push({ before, promise: handledLater(store.put(key, value)), apply: () => model.set(key, value) });
      else if (kind === 1) calls.push({ before, promise: handledLater(store.delete(key)), apply: () => model.delete(key) });
      else {
        const promise = handledLater(
          store.batch([
            { type: 'put', key, value },
            { type: 'delete', key: 'a' },
          ]),
        );
        calls.push({ before, promise, apply: () => model.set(key, value).delete('a') });
      }
    }
    await closing;
    for (const call of calls) {
      if (call.before) {
        await expect(call.promise).resolves.toMatchObject({ ok: true });
        call.apply();
      } else {
        expectTyped(await rejectionOf(call.promise), 'ERR_STORE_CLOSED');
      }
    }
    await expectDurable(memory, model);
  });

  it('finishes a snapshot issued before close() and refuses one issued after', async () => {
    const { memory, store, model } = await seeded();
    const before = store.snapshot();
    const closing = store.close();
    const after = handledLater(store.snapshot());
    const result = await before;
    expectTyped(await rejectionOf(after), 'ERR_STORE_CLOSED');
    await closing;
    const reopened = await openStore(memory, limits);
    expect(reopened.recoveryReport.snapshot?.seq).toBe(result.seq);
    expect(contentsOf(reopened)).toEqual(modelContents(model));
    await reopened.close();
  });
});
