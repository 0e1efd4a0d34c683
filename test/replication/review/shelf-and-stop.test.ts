/**
 * Regressions from the second independent review (helper-25): `stop({ drainTimeoutMs })` waited for
 * a snapshot shelving that waited for the stream, for as long as NATS was away; and a purge that
 * began at an epoch marker (a snapshot taken right after a promotion, then the older kept one) read
 * as resumable, so a lagging follower hit "gap" forever instead of loading the shelf's snapshot.
 * Skips, naming the package, without nats-server.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../../src/index.js';
import { follow, replicate } from '../../../src/replication/index.js';
import { natsServerMissing, useNatsCluster } from '../../helpers/nats-cluster.js';
import { tempDir } from '../../helpers/temp-dir.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(natsServerMissing !== undefined)(`shelving and stopping (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();

  it('stop() keeps to drainTimeoutMs while a shelving waits for a stream that does not answer', async () => {
    const store = await DurableKVStore.open(path.join(await tempDir(), 'leader'));
    const leader = await replicate(store, { servers: cluster.urls, group: 'hang', name: 'leader', publishTimeoutMs: 500 });
    await store.put('a', '1');
    for (const node of cluster.nodes) cluster.pause(node);
    try {
      const write = store.put('b', '2').catch((error: Error) => error);
      await sleep(100);
      const shelving = leader.shelveSnapshot().catch((error: Error) => error);
      await sleep(300);
      const stopped = leader.stop({ drainTimeoutMs: 500 }).then(() => 'stopped');
      expect(await Promise.race([stopped, sleep(6_000).then(() => 'still waiting')])).toBe('stopped');
      expect(await write).toMatchObject({ code: 'ERR_REPLICATION_FAILED' });
      expect(await shelving).toBeInstanceOf(Error);
    } finally {
      for (const node of cluster.nodes) cluster.resume(node);
    }
    await store.close();
  }, 60_000);

  it('a follower behind a purge that begins at an epoch marker is rebuilt from the shelf', async () => {
    const group = 'marker';
    const store = await DurableKVStore.open(path.join(await tempDir(), 'leader'));
    const first = await replicate(store, { servers: cluster.urls, group, name: 'leader' });
    for (let i = 0; i < 5; i++) await store.put(`k${i}`, 'v');
    const followerDir = path.join(await tempDir(), 'follower');
    const lagging = await follow(followerDir, { servers: cluster.urls, group, name: 'follower' });
    await lagging.caughtUpTo(5);
    await lagging.close();
    for (let i = 5; i < 10; i++) await store.put(`k${i}`, 'v');
    await first.stop();
    const second = await replicate(store, { servers: cluster.urls, group, name: 'leader' });
    await second.shelveSnapshot(); // at record 10 = the new epoch's start: named by its marker
    await store.put('k10', 'v');
    await second.shelveSnapshot(); // the stream is purged below the marker
    const rejoined = await follow(followerDir, { servers: cluster.urls, group, name: 'follower' });
    await rejoined.caughtUpTo(store.stats().lastSeq, 30_000);
    expect(rejoined.rebuiltFrom?.reason).toMatch(/behind what the stream still holds/);
    expect([...rejoined.store.keys()]).toEqual([...store.keys()]);
    await rejoined.close();
    await second.stop();
    await store.close();
  }, 60_000);
});
