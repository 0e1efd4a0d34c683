/**
 * Regression from the second independent review (helper-25): two nodes sharing a name (`serve`
 * names a node host:port, the same on every machine behind 0.0.0.0:6379) both took the lead of one
 * epoch, since the epoch marker's Msg-Id was built from the name and the stream took the second
 * marker for a duplicate of the first; a 'replicated' write of one of them was acknowledged and
 * never in the stream. Now a marker carries the run's instance id: exactly one of two racing nodes
 * leads, whatever their names, in every round (the other refused with ERR_NOT_LEADER, or under load
 * ERR_REPLICATION_FAILED when a NATS request timed out first). Skips, naming the package, without nats-server.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../../src/index.js';
import { follow, replicate } from '../../../src/replication/index.js';
import { natsServerMissing, useNatsCluster } from '../../helpers/nats-cluster.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe.skipIf(natsServerMissing !== undefined)(`two nodes with one name (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();

  it('never both lead one epoch, and only one write of the two is acknowledged and replicated', async () => {
    let roundsLed = 0;
    for (let round = 0; round < 5; round++) {
      const group = `same${round}`;
      const stores = [
        await DurableKVStore.open(path.join(await tempDir(), 'a')),
        await DurableKVStore.open(path.join(await tempDir(), 'b')),
      ];
      const results = await Promise.allSettled(
        stores.map((store) => replicate(store, { servers: cluster.urls, group, name: '0.0.0.0:6379' })),
      );
      // Refused by the fence (ERR_NOT_LEADER), or, on a loaded machine, by a NATS request timing out
      // while it tried (ERR_REPLICATION_FAILED).
      for (const result of results) {
        if (result.status === 'rejected')
          expect(['ERR_NOT_LEADER', 'ERR_REPLICATION_FAILED']).toContain((result.reason as { code?: string }).code);
      }
      const leaders = results.flatMap((result, index) =>
        result.status === 'fulfilled' ? [{ leader: result.value, store: stores[index] }] : [],
      );
      // Both may have taken the lead one after the other, each its own epoch: never the same one.
      expect(new Set(leaders.map(({ leader }) => leader.epoch)).size).toBe(leaders.length);
      // Each writes: only the newest epoch's write is acknowledged; the other's is fenced off.
      const writes = await Promise.allSettled(leaders.map(({ store }, index) => store.put('k', `from ${index}`)));
      const acknowledged = writes.filter((write) => write.status === 'fulfilled');
      expect(acknowledged.length).toBeLessThanOrEqual(1);
      if (acknowledged.length === 1) roundsLed++;
      for (const write of writes) if (write.status === 'rejected') expect((write.reason as { code?: string }).code).toBe('ERR_NOT_LEADER');
      if (acknowledged.length === 1) {
        const replica = await follow(path.join(await tempDir(), 'f'), { servers: cluster.urls, group, name: 'witness' });
        const winner = leaders[writes.indexOf(acknowledged[0])].store;
        await replica.caughtUpTo(winner.stats().lastSeq);
        expect(replica.store.get('k')).toBe(winner.get('k'));
        await replica.close();
      }
      for (const { leader } of leaders) await leader.stop();
      for (const store of stores) await store.close();
    }
    expect(roundsLed).toBeGreaterThanOrEqual(3); // the race was run, not every round lost to timeouts
  }, 120_000);
});
