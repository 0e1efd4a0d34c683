/**
 * Versions and conditional writes: a key's version is the seq of the record that last wrote it;
 * ifVersion / ifAbsent / batch checks are checked against every write sequenced before them, so of
 * racing compare-and-sets exactly one wins; a failed check writes nothing and resolves { ok: false }.
 */
import { describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { DurableKVStore, type StoreOptions } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { expectCode, rejectionOf } from '../helpers/errors.js';

const dir = '/db';

async function open(fs = new MemoryFileSystem(), options: StoreOptions = {}) {
  return { fs, store: (await DurableKVStore.open(dir, { fs, ...options })) as DurableKVStore<string> };
}

describe('versions', () => {
  it('a key has the seq of the record that last wrote it; getEntry gives value, version and expiry', async () => {
    const { store } = await open();
    const first = await store.put('a', '1');
    expect(first.ok).toBe(true);
    expect(store.getEntry('a')).toEqual({ value: '1', version: (first as { seq: number }).seq, expiresAt: null });
    const batch = await store.batch([
      { type: 'put', key: 'a', value: '2' },
      { type: 'put', key: 'b', value: 'x' },
    ]);
    const seq = (batch as { seq: number }).seq;
    expect(store.getEntry('a')?.version).toBe(seq);
    expect(store.getEntry('b')?.version).toBe(seq);
    await store.delete('a');
    expect(store.getEntry('a')).toBeUndefined();
    await store.close();
  });

  it('survive close/open, a snapshot, and a power loss', async () => {
    const { fs, store } = await open();
    await store.put('a', '1');
    await store.put('b', '2', { ttlMs: 3_600_000 });
    await store.snapshot();
    await store.put('c', '3');
    const before = ['a', 'b', 'c'].map((key) => store.getEntry(key));
    await store.close();
    const reopened = (await open(fs)).store;
    expect(['a', 'b', 'c'].map((key) => reopened.getEntry(key))).toEqual(before);
    await reopened.put('d', '4');
    const withD = ['a', 'b', 'c', 'd'].map((key) => reopened.getEntry(key));
    fs.crash();
    const recovered = (await open(fs)).store;
    expect(['a', 'b', 'c', 'd'].map((key) => recovered.getEntry(key))).toEqual(withD);
    await recovered.close();
  });
});

describe('ifVersion', () => {
  it('writes when the version matches, and resolves { ok: false, conflicts } without writing when not', async () => {
    const { store } = await open();
    await store.put('k', 'v1');
    const version = store.getEntry('k')?.version as number;
    const stale = await store.put('k', 'nope', { ifVersion: version + 1000 });
    expect(stale).toEqual({ ok: false, conflicts: ['k'] });
    expect(store.get('k')).toBe('v1');
    const lastSeq = store.stats().lastSeq;
    const won = await store.put('k', 'v2', { ifVersion: version });
    expect(won.ok).toBe(true);
    expect(store.get('k')).toBe('v2');
    expect(store.stats().lastSeq).toBe(lastSeq + 1); // the failed one wrote no record
    await store.close();
  });

  it('of N racing compare-and-sets on one version exactly one wins', async () => {
    const { store } = await open();
    await store.put('counter', '0');
    const version = store.getEntry('counter')?.version as number;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.put('counter', `w${i}`, { ifVersion: version })));
    const winners = results.flatMap((result, i) => (result.ok ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(store.get('counter')).toBe(`w${winners[0]}`);
    for (const result of results) if (!result.ok) expect(result.conflicts).toEqual(['counter']);
    await store.close();
  });

  it('read-modify-write loops lose no update under racing writers (the lost-vote bug)', async () => {
    const { store } = await open(new MemoryFileSystem(), { valueEncoding: 'json' } as StoreOptions);
    const json = store as unknown as DurableKVStore<unknown>;
    await json.put('votes', []);
    const vote = async (voter: number) => {
      for (;;) {
        const entry = json.getEntry('votes');
        if (entry === undefined) throw new Error('votes was written first');
        const next = [...(entry.value as number[]), voter];
        const result = await json.put('votes', next, { ifVersion: entry.version });
        if (result.ok) return;
      }
    };
    await Promise.all(Array.from({ length: 40 }, (_, voter) => vote(voter)));
    expect((json.get('votes') as number[]).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await store.close();
  });

  it('a check sees writes sequenced before it that are not yet durable', async () => {
    const { store } = await open();
    // Not awaited: the second is sequenced after the first, maybe in the same group or the next.
    const first = store.put('k', 'a');
    const second = store.put('k', 'b', { ifAbsent: true });
    expect((await first).ok).toBe(true);
    expect(await second).toEqual({ ok: false, conflicts: ['k'] });
    expect(store.get('k')).toBe('a');
    await store.close();
  });

  it('a failed check is answered in its place: acknowledgements keep the order writes were sequenced in', async () => {
    const { store } = await open();
    const order: string[] = [];
    await Promise.all([
      store.put('x', '1').then(() => order.push('x')),
      store.put('a', '1', { ifVersion: 99 }).then(() => order.push('a (failed check)')),
      store.put('b', '1').then(() => order.push('b')),
      store.put('a', '1', { ifAbsent: true }).then(() => order.push('a')),
      store.increment('x').then(() => order.push('increment')),
    ]);
    expect(order).toEqual(['x', 'a (failed check)', 'b', 'a', 'increment']);
    await store.close();
  });

  it('delete with ifVersion deletes only that version', async () => {
    const { store } = await open();
    await store.put('k', 'v');
    const version = store.getEntry('k')?.version as number;
    expect(await store.delete('k', { ifVersion: version + 1 })).toEqual({ ok: false, conflicts: ['k'] });
    expect(store.has('k')).toBe(true);
    expect((await store.delete('k', { ifVersion: version })).ok).toBe(true);
    expect(store.has('k')).toBe(false);
    expect(await store.delete('k', { ifVersion: version })).toEqual({ ok: false, conflicts: ['k'] });
    await store.close();
  });
});

describe('ifAbsent', () => {
  it('writes only when the key does not exist; an expired key does not exist', async () => {
    let now = 1_000_000;
    const { store } = await open(new MemoryFileSystem(), { clock: () => now });
    expect((await store.put('k', '1', { ifAbsent: true })).ok).toBe(true);
    expect(await store.put('k', '2', { ifAbsent: true })).toEqual({ ok: false, conflicts: ['k'] });
    await store.put('t', 'short', { ttlMs: 10 });
    expect(await store.put('t', 'again', { ifAbsent: true })).toEqual({ ok: false, conflicts: ['t'] });
    now += 10;
    expect((await store.put('t', 'again', { ifAbsent: true })).ok).toBe(true);
    expect(store.get('t')).toBe('again');
    expect(store.getEntry('t')?.expiresAt).toBeNull();
    await store.close();
  });
});

describe('batch checks', () => {
  it('all checks pass or nothing is written, and conflicts name every key whose check failed', async () => {
    const { store } = await open();
    await store.put('a', '1');
    await store.put('b', '2');
    const a = store.getEntry('a')?.version as number;
    const b = store.getEntry('b')?.version as number;
    const failed = await store.batch(
      [
        { type: 'put', key: 'a', value: 'A' },
        { type: 'delete', key: 'b' },
        { type: 'put', key: 'c', value: 'C' },
      ],
      {
        checks: [
          { key: 'a', version: a },
          { key: 'b', version: b + 5 },
          { key: 'a', absent: true },
        ],
      },
    );
    expect(failed).toEqual({ ok: false, conflicts: ['b', 'a'] });
    expect([store.get('a'), store.get('b'), store.get('c')]).toEqual(['1', '2', undefined]);
    const passed = await store.batch(
      [
        { type: 'put', key: 'a', value: 'A' },
        { type: 'delete', key: 'b' },
        { type: 'put', key: 'c', value: 'C' },
      ],
      {
        checks: [
          { key: 'a', version: a },
          { key: 'b', version: b },
          { key: 'c', absent: true },
        ],
      },
    );
    expect(passed.ok).toBe(true);
    expect([store.get('a'), store.get('b'), store.get('c')]).toEqual(['A', undefined, 'C']);
    await store.close();
  });

  it('an offset committed with a version check in the same batch counts a replayed message once', async () => {
    const { store } = await open();
    const consume = async (offset: number) => {
      const committed = store.getEntry('offset');
      if (committed !== undefined && Number(committed.value) >= offset) return false;
      const checks = committed === undefined ? [{ key: 'offset', absent: true as const }] : [{ key: 'offset', version: committed.version }];
      const result = await store.batch(
        [
          { type: 'increment', key: 'count' },
          { type: 'put', key: 'offset', value: String(offset) },
        ],
        { checks },
      );
      return result.ok;
    };
    // Three consumers read the same committed offset at once: exactly one batch wins.
    const outcomes = await Promise.all([consume(1), consume(1), consume(1)]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(store.get('count')).toBe('1');
    // Message 1 redelivered after the commit is skipped; message 2 counts.
    expect(await consume(1)).toBe(false);
    expect(await consume(2)).toBe(true);
    expect(store.get('count')).toBe('2');
    await store.close();
  });

  it('bad checks and bad options are ERR_INVALID_ARG, nothing written', async () => {
    const { store } = await open();
    const seq = store.stats().lastSeq;
    for (const bad of [
      () => store.batch([{ type: 'put', key: 'a', value: '1' }], { checks: [{ key: 'a' } as never] }),
      () => store.batch([{ type: 'put', key: 'a', value: '1' }], { checks: [{ key: 'a', version: 0 }] }),
      () => store.batch([{ type: 'put', key: 'a', value: '1' }], { checks: 'no' as never }),
      () => store.put('a', '1', { ifVersion: -1 }),
      () => store.put('a', '1', { ifVersion: 1.5 }),
      () => store.put('a', '1', { ifVersion: 3, ifAbsent: true }),
      () => store.put('a', '1', { ifAbsent: 'yes' as never }),
      () => store.put('a', '1', 'options' as never),
      () => store.delete('a', { ifVersion: Number.NaN }),
      // A typo must never turn a conditional write into a plain one.
      () => store.put('a', '1', { ifversion: 3 } as never),
      () => store.delete('a', { ifAbsent: true } as never),
      () => store.batch([{ type: 'put', key: 'a', value: '1', ifVersion: 3 } as never]),
      () => store.batch([{ type: 'put', key: 'a', value: '1' }], { check: [] } as never),
    ]) {
      expectCode(await rejectionOf(bad), 'ERR_INVALID_ARG');
    }
    expect(store.stats().lastSeq).toBe(seq);
    await store.close();
  });
});

describe('change feed', () => {
  it('shows a conditional put as the put it became, and nothing for a failed one', async () => {
    const { store } = await open();
    const changes = firstValueFrom(store.changes().pipe(take(2), toArray()));
    await store.put('k', '1', { ifAbsent: true });
    await store.put('k', '2', { ifAbsent: true });
    await store.put('k', '3', { ifVersion: store.getEntry('k')?.version as number });
    const [first, second] = await changes;
    expect(first.ops).toEqual([{ type: 'put', key: 'k', value: '1', expiresAt: null }]);
    expect(second.ops).toEqual([{ type: 'put', key: 'k', value: '3', expiresAt: null }]);
    expect(second.seq).toBe(first.seq + 1);
    await store.close();
  });
});
