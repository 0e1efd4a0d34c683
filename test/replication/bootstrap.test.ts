/**
 * Issue 13's scenario 4 on a real 3-node nats-server cluster: a store of 1M keys starts a group
 * (its snapshot goes on the group's shelf, a JetStream Object Store), writes go on, more snapshots
 * are shelved and the stream is purged behind them; a new, empty follower then loads the newest
 * snapshot and the stream after it, and holds exactly the leader's data. A follower left behind
 * the purge is rebuilt the same way. Skips, naming the package, without nats-server.
 */
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { follow, replicate } from '../../src/replication/index.js';
import { natsServerMissing, useNatsCluster } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/temp-dir.js';

const keyCount = 1_000_000;
const batchKeys = 10_000;
const keyOf = (i: number) => `key:${String(i).padStart(7, '0')}`;

describe.skipIf(natsServerMissing !== undefined)(`a new follower of a 1M-key group (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();

  async function firstStreamSeq(group: string): Promise<number> {
    const nc = await connect({ servers: cluster.urls });
    try {
      return (await (await jetstreamManager(nc)).streams.info(`DKV_${group}`)).state.first_seq;
    } finally {
      await nc.close();
    }
  }

  it('loads the newest shelved snapshot and the stream after it, and holds exactly the leader’s data', async () => {
    const group = 'big';
    const store = await DurableKVStore.open(path.join(await tempDir(), 'leader'));
    for (let start = 0; start < keyCount; start += batchKeys) {
      const batch = Array.from({ length: batchKeys }, (_, j) => ({
        type: 'put' as const,
        key: keyOf(start + j),
        value: `value-${start + j}`,
      }));
      await store.batch(batch);
    }
    const leader = await replicate(store, { servers: cluster.urls, group, name: 'leader' }); // shelves the 1M keys first
    const laggardDir = path.join(await tempDir(), 'laggard');
    const laggard = await follow(laggardDir, { servers: cluster.urls, group, name: 'laggard' });
    await laggard.caughtUpTo(store.stats().lastSeq, 120_000);
    await laggard.stop(); // stays at this record while the stream is purged past it
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) await store.put(keyOf(round * 1000 + i), `round-${round}`);
      await store.delete(keyOf(500_000 + round));
      await leader.shelveSnapshot();
    }
    for (let i = 0; i < 100; i++) await store.put(`tail:${i}`, 'after the last snapshot');
    expect(await firstStreamSeq(group)).toBeGreaterThan(1); // purged: the stream alone no longer has the start

    const startedAt = Date.now();
    const replica = await follow(path.join(await tempDir(), 'new'), { servers: cluster.urls, group, name: 'new' });
    await replica.caughtUpTo(store.stats().lastSeq, 120_000);
    const catchUpMs = Date.now() - startedAt;
    console.log(
      `bootstrap: an empty follower held ${replica.store.size} keys (record ${replica.store.stats().lastSeq}) after ${catchUpMs} ms`,
    );
    expect(replica.store.size).toBe(store.size);
    expect(replica.store.stats().lastSeq).toBe(store.stats().lastSeq);
    for (const key of [keyOf(0), keyOf(2_299), keyOf(500_000), keyOf(500_001), keyOf(999_999), 'tail:99']) {
      expect(replica.store.getEntry(key)).toEqual(store.getEntry(key));
    }
    expect([...replica.store.keys({ gte: 'key:0499990', lt: 'key:0500010' })]).toEqual([
      ...store.keys({ gte: 'key:0499990', lt: 'key:0500010' }),
    ]);

    // The follower stopped before the purges is behind what the stream holds: rebuilt from the shelf.
    await laggard.close();
    const rejoined = await follow(laggardDir, { servers: cluster.urls, group, name: 'laggard' });
    expect(rejoined.rebuiltFrom?.reason).toMatch(/behind what the stream still holds/);
    await rejoined.caughtUpTo(store.stats().lastSeq, 120_000);
    expect(rejoined.store.size).toBe(store.size);
    expect(rejoined.store.getEntry('tail:99')).toEqual(store.getEntry('tail:99'));
    await rejoined.close();
    await replica.close();
    await leader.stop();
    await store.close();
  }, 300_000);
});
