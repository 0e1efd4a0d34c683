/**
 * Ranges from a worker thread: `range`, `keys`, `values` and `entries` arrive in pages, and the whole
 * walk is the store as of the call, whatever is written while it is read. The owner holds a cursor
 * per unfinished walk, at most `rangeCursorsMax` per port, and frees it when the walk ends, is left
 * early or the connection closes.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { rangeCursorsMaxDefault, rangePageSizeDefault, rangePageSizeMax } from '../../src/worker/index.js';
import { closeAfterTest } from '../helpers/temp-dir.js';
import { resultOf, startCaller } from './caller-worker.js';
import type { Outcome } from './fixtures/caller.js';

const key = (i: number) => `k${String(i).padStart(4, '0')}`;

/** A store holding `count` keys, key(i) = String(i). */
async function filledStore(count: number, options: { valueEncoding?: 'json' | 'binary' } = {}): Promise<DurableKVStore<unknown>> {
  const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem(), ...options })) as DurableKVStore<unknown>;
  const value = (i: number) =>
    options.valueEncoding === 'json' ? { i } : options.valueEncoding === 'binary' ? Buffer.from([i % 256, 7]) : String(i);
  await Promise.all(Array.from({ length: count }, (_, i) => store.put(key(i), value(i))));
  return store;
}

const count = (requests: string[], method: string) => requests.filter((request) => request === method).length;

function expectInvalid(outcome: Outcome | undefined): void {
  expect(outcome).toMatchObject({ ok: false, code: 'ERR_INVALID_ARG', errorClass: 'InvalidArgumentError', isDurableKVError: true });
}

describe('a range walk from a worker thread', () => {
  it('comes in pages and is the store as of the call, though writes land between its pages', async () => {
    const store = await filledStore(2500);
    const at = [...store.range()];
    const { call, server, requests } = await startCaller(store);
    const [walk] = await call({
      walk: 'range',
      options: { pageSize: 1000 },
      during: [
        {
          after: 1, // in the first page: the writes hit keys of the second and third pages, not read yet
          calls: [
            { method: 'put', args: [key(1500), 'changed'] },
            { method: 'delete', args: [key(2000)] },
            { method: 'put', args: [`${key(1200)}+`, 'inserted'] },
            { method: 'increment', args: [key(1800), 1] },
            { method: 'deleteRange', args: [{ gte: key(2400) }] },
            {
              method: 'batch',
              args: [
                [
                  { type: 'put', key: key(2100), value: 'batched' },
                  { type: 'put', key: 'zzz', value: 'after the end' },
                ],
              ],
            },
          ],
        },
        { after: 1500, calls: [{ method: 'put', args: [key(2200), 'changed in the second page'] }] },
      ],
    });
    expect(walk).toMatchObject({ ok: true, during: Array.from({ length: 7 }, () => ({ ok: true })) });
    expect(resultOf(walk)).toEqual(at);
    expect(at).toHaveLength(2500);
    // Three pages: the open brought the first, two more followed; the last one freed the cursor.
    expect(count(requests, 'rangeOpen')).toBe(1);
    expect(count(requests, 'rangeNext')).toBe(2);
    expect(count(requests, 'rangeClose')).toBe(0);
    expect(server.rangeCursorsOpen).toBe(0);

    // The writes did happen; a walk made now sees them.
    expect([store.get(key(1500)), store.get(key(1800)), store.has(key(2000)), store.get('zzz')]).toEqual([
      'changed',
      '1801',
      false,
      'after the end',
    ]);
    const [after] = await call({ walk: 'keys', options: { pageSize: 700 } });
    expect(resultOf(after)).toEqual([...store.keys()]);
    expect(resultOf(after)).toHaveLength(2500 - 1 + 1 - 100 + 1);
  });

  it('keys, values and entries, with bounds, prefix, reverse and limit, give what the owner gives', async () => {
    const store = await filledStore(300, { valueEncoding: 'json' });
    const { call, server } = await startCaller(store);
    const cases = [
      { walk: 'keys', options: { gte: key(10), lt: key(250), pageSize: 7 } },
      { walk: 'values', options: { prefix: 'k01', reverse: true, pageSize: 3 } },
      { walk: 'entries', options: { gt: key(100), limit: 25, pageSize: 10 } },
      { walk: 'range', options: { reverse: true, limit: 10 } },
      { walk: 'range' },
      { walk: 'keys', options: { prefix: 'nothing' } },
    ] as const;
    const outcomes = await call(...cases);
    const { pageSize: _a, ...keysOptions } = cases[0].options;
    const { pageSize: _b, ...valuesOptions } = cases[1].options;
    const { pageSize: _c, ...entriesOptions } = cases[2].options;
    expect(outcomes.map(resultOf)).toEqual([
      [...store.keys(keysOptions)],
      [...store.values(valuesOptions)],
      [...store.entries(entriesOptions)],
      [...store.range(cases[3].options)],
      [...store.range()],
      [],
    ]);
    expect((resultOf(outcomes[1]) as unknown[])[0]).toEqual({ i: 199 });
    expect(server.rangeCursorsOpen).toBe(0);
  });

  it('brings binary values byte-exact', async () => {
    const store = await filledStore(40, { valueEncoding: 'binary' });
    const { call } = await startCaller(store);
    const [entries, values] = await call({ walk: 'range', options: { pageSize: 16 } }, { walk: 'values', options: { limit: 3 } });
    const expected = [...store.range()].map(([k, v]) => [k, new Uint8Array(v as Uint8Array)]);
    expect((resultOf(entries) as Array<[string, Uint8Array]>).map(([k, v]) => [k, new Uint8Array(v)])).toEqual(expected);
    expect((resultOf(values) as Uint8Array[]).map((v) => [...v])).toEqual([
      [0, 7],
      [1, 7],
      [2, 7],
    ]);
  });

  it('refuses bad range options and page sizes with ERR_INVALID_ARG, and holds no cursor', async () => {
    const store = await filledStore(10);
    const { call, server } = await startCaller(store);
    const outcomes = await call(
      { walk: 'range', options: { gt: 1 } },
      { walk: 'keys', options: { bogus: true } },
      { walk: 'values', options: 'prefix' },
      { walk: 'entries', options: { gt: 'a', gte: 'b' } },
      { walk: 'range', options: { limit: -1 } },
      { walk: 'range', options: { reverse: 'yes' } },
      { walk: 'range', options: { pageSize: 0 } },
      { walk: 'keys', options: { pageSize: 2.5 } },
      { walk: 'range', options: { pageSize: rangePageSizeMax + 1 } },
      { walk: 'range', options: { pageSize: '10' } },
    );
    for (const outcome of outcomes) {
      expectInvalid(outcome);
      expect(outcome).toMatchObject({ items: [] });
    }
    expect(outcomes[6]).toMatchObject({ message: expect.stringContaining('pageSize') });
    expect(server.rangeCursorsOpen).toBe(0);
    // The connection is still fine.
    expect(resultOf((await call({ walk: 'keys', options: { pageSize: rangePageSizeMax } }))[0])).toHaveLength(10);
  });
});

describe('range cursors on the owner', () => {
  it('are freed by an early break: walk after walk, more than rangeCursorsMax, all succeed', async () => {
    const store = await filledStore(100);
    const { call, server, requests } = await startCaller(store, { rangeCursorsMax: 2 });
    const kinds = ['range', 'keys', 'values', 'entries'] as const;
    const walks = Array.from({ length: 10 }, (_, i) => ({ walk: kinds[i % 4], options: { pageSize: 10 }, breakAfter: 15 }));
    const outcomes = await call(...walks);
    for (const outcome of outcomes) expect(resultOf(outcome)).toHaveLength(15);
    expect(resultOf(outcomes[1])).toEqual([...store.keys({ limit: 15 })]);
    expect(count(requests, 'rangeClose')).toBe(10);
    expect(server.rangeCursorsOpen).toBe(0);
  });

  it('are bounded per port: a walk beyond rangeCursorsMax is refused with ERR_STORE_OVERLOADED, one that fits a page is not', async () => {
    const store = await filledStore(100);
    const { call, server, worker } = await startCaller(store, { rangeCursorsMax: 2 });
    const held = await call(
      { walk: 'range', options: { pageSize: 10 }, breakAfter: 1, keepOpen: true },
      { walk: 'keys', options: { pageSize: 10 }, breakAfter: 1, keepOpen: true },
    );
    for (const outcome of held) expect(resultOf(outcome)).toHaveLength(1);
    expect(server.rangeCursorsOpen).toBe(2);

    const [refused, small, afterRefusal] = await call(
      { walk: 'values', options: { pageSize: 10 } },
      { walk: 'keys', options: { pageSize: 100 } }, // the whole range in its first page: no cursor needed
      { method: 'get', args: [key(1)] },
    );
    expect(refused).toMatchObject({
      ok: false,
      code: 'ERR_STORE_OVERLOADED',
      errorClass: 'StoreOverloadedError',
      message: expect.stringContaining('rangeCursorsMax 2'),
      items: [],
    });
    expect(resultOf(small)).toHaveLength(100);
    expect(resultOf(afterRefusal)).toBe('1');
    expect(server.rangeCursorsOpen).toBe(2);

    // Closing the connection frees them.
    worker.postMessage({ close: true });
    await server.stopped;
    expect(server.rangeCursorsOpen).toBe(0);
  });

  it('allow a few dozen walks at once by default, in pages of a thousand', () => {
    expect(rangeCursorsMaxDefault).toBeGreaterThanOrEqual(16);
    expect(rangePageSizeDefault).toBe(1000);
    expect(rangePageSizeMax).toBeGreaterThanOrEqual(rangePageSizeDefault);
  });
});
