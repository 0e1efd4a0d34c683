/**
 * Regression (found by an independent review of the data model; fixed): in #takeGroup, once a group has built its SequencedView (for an intent), every later write
 * of the group is added to it, and SequencedView.add asserts on a range delete. A conditional put
 * followed in the same tick by a deleteRange throws out of #takeGroup: unhandled rejection, and
 * both writes, already off the mailbox, are never settled (nor written), and close() succeeds.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

describe('a conditional write, then a range delete, in one group', () => {
  it('both are written and acknowledged', async () => {
    const unhandled: string[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push((reason as Error).message);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = (await DurableKVStore.open('/db', { fs: new MemoryFileSystem() })) as DurableKVStore<string>;
      await store.put('x1', '1');
      const conditional = store.put('k', 'v', { ifAbsent: true });
      const range = store.deleteRange({ prefix: 'x' });
      const states: Record<string, unknown> = {};
      conditional.then(
        (v) => (states.conditional = v),
        (e) => (states.conditional = e.message),
      );
      range.then(
        (v) => (states.range = v),
        (e) => (states.range = e.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const closed = await Promise.race([store.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hangs'), 1000))]);
      expect({ unhandled, states, closed }).toEqual({
        unhandled: [],
        states: { conditional: { ok: true, seq: 2 }, range: { ok: true, seq: 3, deleted: 1 } },
        closed: 'closed',
      });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
