import { describe, expect, it } from 'vitest';
import { DurableKVStore, type BatchOperation, type OperationEvent } from '../../src/index.js';
import { Prng } from '../../src/testing/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

describe('many writes in flight at once', () => {
  it('resolves 10,000 unawaited puts, acknowledged and sequenced in call order, and loses none', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    const events: OperationEvent[] = [];
    store.operations$.subscribe((event) => events.push(event));
    const count = 10_000;
    const resolvedOrder: number[] = [];
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      pending.push(store.put(`key-${i}`, `value-${i}`).then(() => void resolvedOrder.push(i)));
      pending.push(store.put('same', String(i)).then(() => void resolvedOrder.push(count + i)));
    }
    await Promise.all(pending);

    // Every promise resolved, in the order the calls were made (puts alternate key-i, same).
    const callOrder = Array.from({ length: count }, (_, i) => [i, count + i]).flat();
    expect(resolvedOrder).toEqual(callOrder);
    // operations$: one event per put, seqs 1, 2, 3, ... in call order.
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1));
    expect(events.map((event) => event.key)).toEqual(callOrder.map((i) => (i < count ? `key-${i}` : 'same')));
    // The last put issued to a key wins.
    expect(store.get('same')).toBe(String(count - 1));
    expect(store.size).toBe(count + 1);
    await store.close();

    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(reopened.size).toBe(count + 1);
    expect(reopened.stats().lastSeq).toBe(2 * count);
    expect(reopened.get('same')).toBe(String(count - 1));
    for (let i = 0; i < count; i++) expect(reopened.get(`key-${i}`)).toBe(`value-${i}`);
  });
});

describe('several callers interleaving writes', () => {
  type Write =
    | { kind: 'put'; key: string; value: string }
    | { kind: 'delete'; key: string }
    | { kind: 'batch'; ops: BatchOperation<string>[] };

  function applyTo(model: Map<string, string>, write: Write): void {
    const ops: BatchOperation<string>[] =
      write.kind === 'batch' ? write.ops : [write.kind === 'put' ? { type: 'put', ...write } : { type: 'delete', key: write.key }];
    for (const op of ops) {
      if (op.type === 'put') model.set(op.key, op.value);
      else model.delete(op.key);
    }
  }

  function randomWrite(prng: Prng, caller: number, step: number): Write {
    // Each caller has private keys (to check its own order) and shares a few with the others.
    const key = () => (prng.chance(0.3) ? `shared-${prng.int(3)}` : `c${caller}-${prng.int(5)}`);
    const value = `c${caller}-s${step}`;
    const roll = prng.int(10);
    if (roll < 5) return { kind: 'put', key: key(), value };
    if (roll < 7) return { kind: 'delete', key: key() };
    const ops: BatchOperation<string>[] = Array.from({ length: 1 + prng.int(4) }, (_, i) =>
      prng.chance(0.7) ? { type: 'put', key: key(), value: `${value}-${i}` } : { type: 'delete', key: key() },
    );
    return { kind: 'batch', ops };
  }

  it.each([1, 2, 3])('keeps each caller’s order and the global call order (seed %i)', async (seed) => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    const prng = new Prng(seed);
    const issued: Array<{ caller: number; write: Write }> = [];
    const events: OperationEvent[] = [];
    store.operations$.subscribe((event) => events.push(event));

    const issue = (caller: number, write: Write): Promise<unknown> => {
      issued.push({ caller, write });
      if (write.kind === 'put') return store.put(write.key, write.value);
      if (write.kind === 'delete') return store.delete(write.key);
      return store.batch(write.ops);
    };

    // Each caller runs its own loop: it awaits some of its writes and fires others without waiting,
    // so the callers' writes interleave in an order the event loop decides.
    const callers = Array.from({ length: 5 }, async (_, caller) => {
      const acknowledged: number[] = [];
      const unawaited: Array<Promise<void>> = [];
      for (let step = 0; step < 200; step++) {
        const write = randomWrite(prng, caller, step);
        const done = issue(caller, write).then(() => void acknowledged.push(step));
        if (prng.chance(0.2)) await done;
        else unawaited.push(done);
      }
      await Promise.all(unawaited);
      return acknowledged;
    });
    const acknowledgedPerCaller = await Promise.all(callers);

    // Each caller saw its own writes acknowledged in the order it made them.
    for (const acknowledged of acknowledgedPerCaller) expect(acknowledged).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // The log took the writes in call order, one seq each.
    expect(events.map((event) => event.seq)).toEqual(issued.map((_, i) => i + 1));
    expect(events.map((event) => event.type)).toEqual(issued.map(({ write }) => write.kind));
    // The final state is the writes applied in call order.
    const model = new Map<string, string>();
    for (const { write } of issued) applyTo(model, write);
    expect(new Map(store.entries())).toEqual(model);
    await store.close();

    const reopened = closeAfterTest(await DurableKVStore.open(dir));
    expect(new Map(reopened.entries())).toEqual(model);
  });
});
