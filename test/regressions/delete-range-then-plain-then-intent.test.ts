/**
 * Regression (found by an independent review of the data model; fixed): #writeNextGroup waits for an uncommitted range delete only when the mailbox HEAD has an
 * intent. A group that starts with a plain write and then meets an intent builds the sequenced
 * view over the uncommitted range delete: SequencedView.add asserts, the throw escapes #takeGroup
 * (outside the write try/catch), #writeLoop rejects unhandled, and the plain write already taken
 * off the mailbox is never settled.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import { GatedFileSystem } from '../helpers/gated-file-system.js';

describe('a conditional write behind a plain one, after a range delete waiting for its fsync', () => {
  it('is resolved once the range delete applies; the plain write is acknowledged', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const fs = new GatedFileSystem(new MemoryFileSystem());
      const store = (await DurableKVStore.open('/db', { fs, sync: 'always' })) as DurableKVStore<string>;
      await store.put('r1', 'x');
      await store.put('k', 'v1');
      fs.holdSyncs('.wal');
      const range = store.deleteRange({ prefix: 'r' });
      await fs.heldSyncs(1); // the range delete is written, its fsync held: uncommitted
      const plain = store.put('p', '1');
      const conditional = store.put('k', 'v2', { ifAbsent: true });
      await new Promise((resolve) => setTimeout(resolve, 50));
      fs.releaseAll();
      const states: Record<string, unknown> = {};
      range.then(
        (v) => (states.range = v),
        (e) => (states.range = e.message),
      );
      plain.then(
        (v) => (states.plain = v),
        (e) => (states.plain = e.message),
      );
      conditional.then(
        (v) => (states.conditional = v),
        (e) => (states.conditional = e.message),
      );
      const settled = await Promise.race([
        Promise.allSettled([range, plain, conditional]),
        new Promise((resolve) => setTimeout(() => resolve('timed out'), 2000)),
      ]);
      expect(unhandled.map((error) => (error as Error).message)).toEqual([]);
      expect(settled).toEqual([
        { status: 'fulfilled', value: expect.objectContaining({ ok: true, deleted: 1 }) },
        { status: 'fulfilled', value: expect.objectContaining({ ok: true }) },
        { status: 'fulfilled', value: { ok: false, conflicts: ['k'] } },
      ]);
      await store.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
