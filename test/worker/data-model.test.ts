/**
 * The data model from a worker thread: options on put, delete and batch, getEntry, increment, expire,
 * deleteRange and backup give what the owner's store gives, and their errors arrive as the same
 * classes with the same code.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { resultOf, startCaller } from './caller-worker.js';

const hourMs = 3_600_000;

async function memoryStore(): Promise<DurableKVStore<unknown>> {
  return closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() })) as DurableKVStore<unknown>;
}

describe('conditional and expiring writes from a worker thread', () => {
  it('put: ifVersion and ifAbsent resolve { ok: false, conflicts } and write nothing; getEntry shows version and expiry', async () => {
    const store = await memoryStore();
    const { call } = await startCaller(store);
    const [written, entry] = await call({ method: 'put', args: ['k', 'v1'] }, { method: 'getEntry', args: ['k'] });
    const { seq } = resultOf(written) as { seq: number };
    expect(resultOf(entry)).toEqual({ value: 'v1', version: seq, expiresAt: null });

    const before = Date.now();
    const outcomes = await call(
      { method: 'put', args: ['k', 'stale', { ifVersion: seq + 1000 }] },
      { method: 'put', args: ['k', 'taken', { ifAbsent: true }] },
      { method: 'put', args: ['k', 'v2', { ifVersion: seq }] },
      { method: 'put', args: ['new', 'n', { ifAbsent: true }] },
      { method: 'put', args: ['t', 'x', { ttlMs: hourMs }] },
      { method: 'put', args: ['t', 'y', { keepTtl: true }] },
      { method: 'getEntry', args: ['t'] },
      { method: 'getEntry', args: ['missing'] },
      { method: 'put', args: ['k', 'v', { ttlMs: 5, expiresAt: Date.now() + 5 }] },
    );
    expect(outcomes.slice(0, 2).map(resultOf)).toEqual([
      { ok: false, conflicts: ['k'] },
      { ok: false, conflicts: ['k'] },
    ]);
    expect(outcomes.slice(2, 6).map(resultOf)).toEqual(Array.from({ length: 4 }, () => ({ ok: true, seq: expect.any(Number) })));
    const t = resultOf(outcomes[6]) as { value: string; expiresAt: number };
    expect(t.value).toBe('y');
    expect(t.expiresAt).toBeGreaterThanOrEqual(before + hourMs); // kept by keepTtl
    expect(t.expiresAt).toBeLessThanOrEqual(Date.now() + hourMs);
    expect(resultOf(outcomes[7])).toBeUndefined();
    expect(outcomes[8]).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError' });
    expect(store.get('k')).toBe('v2');
    expect(store.getEntry('t')?.expiresAt).toBe(t.expiresAt);
  });

  it('delete with ifVersion and batch with checks, increments and TTLs: all or nothing', async () => {
    const store = await memoryStore();
    const { seq } = (await store.put('k', 'v')) as { seq: number };
    await store.put('n', '10');
    const { call } = await startCaller(store);
    const outcomes = await call(
      { method: 'delete', args: ['k', { ifVersion: seq + 1 }] },
      {
        method: 'batch',
        args: [
          [
            { type: 'put', key: 'a', value: 'A' },
            { type: 'increment', key: 'n', delta: 5 },
          ],
          { checks: [{ key: 'n', absent: true }] },
        ],
      },
      {
        method: 'batch',
        args: [
          [
            { type: 'put', key: 'a', value: 'A', ttlMs: hourMs },
            { type: 'increment', key: 'n', delta: 5 },
            { type: 'delete', key: 'k' },
          ],
          { checks: [{ key: 'k', version: seq }] },
        ],
      },
    );
    expect(outcomes.map(resultOf)).toEqual([
      { ok: false, conflicts: ['k'] },
      { ok: false, conflicts: ['n'] },
      { ok: true, seq: expect.any(Number) },
    ]);
    expect(store.get('n')).toBe('15');
    expect(store.has('k')).toBe(false);
    expect(store.getEntry('a')?.expiresAt).toBeGreaterThan(Date.now());

    await store.put('k', 'again');
    const version = store.getEntry('k')?.version;
    expect(resultOf((await call({ method: 'delete', args: ['k', { ifVersion: version }] }))[0])).toEqual({
      ok: true,
      seq: expect.any(Number),
    });
    expect(store.has('k')).toBe(false);
  });
});

describe('increment from a worker thread', () => {
  it('resolves the new number; a value that is not one rejects as NotANumberError (ERR_NOT_A_NUMBER, with its key) and writes nothing', async () => {
    const store = await memoryStore();
    await store.put('s', 'abc');
    const { call } = await startCaller(store);
    const outcomes = await call(
      { method: 'increment', args: ['c'] },
      { method: 'increment', args: ['c', 41] },
      { method: 'increment', args: ['c', -2, { ttlMs: hourMs }] },
      { method: 'getEntry', args: ['c'] },
      { method: 'increment', args: ['s'] },
      { method: 'increment', args: ['c', 1.5] },
    );
    expect(outcomes.slice(0, 3).map(resultOf)).toEqual([1, 42, 40]);
    expect(resultOf(outcomes[3])).toMatchObject({ value: '40', expiresAt: expect.any(Number) });
    expect(outcomes[4]).toMatchObject({
      ok: false,
      code: 'ERR_NOT_A_NUMBER',
      errorClass: 'NotANumberError',
      isDurableKVError: true,
      fields: { key: 's' },
    });
    expect(outcomes[5]).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError' });
    expect(store.get('s')).toBe('abc');
    expect(store.get('c')).toBe('40');
  });
});

describe('expire from a worker thread', () => {
  it('sets and removes an expiry; a missing key is a conflict; no expiry given is ERR_INVALID_ARG', async () => {
    const store = await memoryStore();
    await store.put('e', 'v');
    const { call } = await startCaller(store);
    const before = Date.now();
    const outcomes = await call(
      { method: 'expire', args: ['e', { ttlMs: hourMs }] },
      { method: 'getEntry', args: ['e'] },
      { method: 'expire', args: ['e', null] },
      { method: 'getEntry', args: ['e'] },
      { method: 'expire', args: ['missing', { ttlMs: hourMs }] },
      { method: 'expire', args: ['e', {}] },
    );
    expect(resultOf(outcomes[0])).toEqual({ ok: true, seq: expect.any(Number) });
    expect((resultOf(outcomes[1]) as { expiresAt: number }).expiresAt).toBeGreaterThanOrEqual(before + hourMs);
    expect(resultOf(outcomes[2])).toEqual({ ok: true, seq: expect.any(Number) });
    expect(resultOf(outcomes[3])).toEqual({ value: 'v', version: (resultOf(outcomes[2]) as { seq: number }).seq, expiresAt: null });
    expect(resultOf(outcomes[4])).toEqual({ ok: false, conflicts: ['missing'] });
    expect(outcomes[5]).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError' });
  });
});

describe('deleteRange and backup from a worker thread', () => {
  it('deleteRange deletes the range atomically and says how many; bad options are ERR_INVALID_ARG', async () => {
    const store = await memoryStore();
    for (const key of ['a1', 'a2', 'a3', 'b1', 'b2']) await store.put(key, key);
    const { call } = await startCaller(store);
    const outcomes = await call(
      { method: 'deleteRange', args: [{ prefix: 'a' }] },
      { method: 'deleteRange', args: [{ gt: 'b1', lt: 'zz' }] },
      { method: 'deleteRange', args: [{ lt: 5 }] },
      { method: 'deleteRange', args: [] },
    );
    expect(outcomes.slice(0, 2).map(resultOf)).toEqual([
      { ok: true, seq: expect.any(Number), deleted: 3 },
      { ok: true, seq: expect.any(Number), deleted: 1 },
    ]);
    for (const outcome of outcomes.slice(2))
      expect(outcome).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError' });
    expect([...store.keys()]).toEqual(['b1']);
  });

  it('backup writes a consistent copy that opens as a store; no target is ERR_INVALID_ARG', async () => {
    const store = closeAfterTest(await DurableKVStore.open(await tempDir()));
    for (let i = 0; i < 20; i++) await store.put(`k${i}`, String(i));
    const { call } = await startCaller(store as DurableKVStore<unknown>);
    const target = await tempDir();
    const [backup, bad] = await call({ method: 'backup', args: [target] }, { method: 'backup', args: [''] });
    expect(resultOf(backup)).toMatchObject({ seq: store.stats().lastSeq, keys: 20 });
    expect(bad).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError' });
    const copy = await DurableKVStore.open(target);
    try {
      expect([...copy.entries()]).toEqual([...store.entries()]);
    } finally {
      await copy.close();
    }
  });
});
