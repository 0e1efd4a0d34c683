import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { DurableKVStore, type SyncMode } from '../../src/index.js';

/** `writers` closed-loop writers, each awaiting its put before the next, `rounds` puts each. */
async function lockstepWriters(store: DurableKVStore, writers: number, rounds: number): Promise<void> {
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let round = 0; round < rounds; round++) await store.put(`w${writer}:${round}`, 'value');
    }),
  );
}

async function groupSizes(sync: SyncMode, writers: number, rounds: number): Promise<number[]> {
  const store = await DurableKVStore.open(await tempDir(), { sync, autoSnapshot: false });
  const groups: number[] = [];
  store.signals$.subscribe((signal) => {
    if (signal.type === 'group-commit') groups.push(signal.records);
  });
  await lockstepWriters(store, writers, rounds);
  await store.close();
  return groups;
}

// Ordering, not timing: a commit acknowledges its writers in one synchronous pass, their next puts
// arrive in the promise callbacks that follow, and the next group must take all of them. Starting
// the write at the first arrival would split every round into a group of one and the rest, and the
// rest would wait a whole extra fsync (the "G1 F1 G63 F63" pattern W2 once showed).
describe('group commit with writers in lockstep', () => {
  it.each<SyncMode>(['always', 'never'])(
    'under sync %s, the writers one commit acknowledged go out together in the next group',
    async (sync) => {
      const writers = 64;
      const rounds = 20;
      const groups = await groupSizes(sync, writers, rounds);
      expect(groups).toEqual(Array.from({ length: rounds }, () => writers));
    },
  );
});
