/**
 * ReplicaNode (lease-elected leader or follower) on a real 3-node nats-server cluster: a store with
 * data that never was in a group starts the group as its leader (its data reaches a new follower
 * through the shelf) instead of being moved aside; and after every NATS server was unreachable for
 * longer than the lease, the nodes settle again on exactly one leader that takes writes, with no
 * node left without a store (helper-25 found the node wedged for good). Skips, naming the package,
 * without nats-server.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { type ReplicaNode, runReplicaNode } from '../../src/replication/index.js';
import { natsServerMissing, useNatsCluster } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/temp-dir.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const leaseTtlMs = 1_000;

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe.skipIf(natsServerMissing !== undefined)(`ReplicaNode (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();
  const nodes: ReplicaNode[] = [];

  afterAll(async () => {
    for (const node of nodes) await node.close().catch(() => undefined);
  });

  const start = async (dir: string, group: string, name: string) => {
    const node = await runReplicaNode(dir, { servers: cluster.urls, group, name, leaseTtlMs });
    nodes.push(node);
    return node;
  };

  it('a store with data starts an empty group as its leader, and a new follower gets the data', async () => {
    const dir = path.join(await tempDir(), 'existing');
    const store = await DurableKVStore.open(dir);
    for (let i = 0; i < 100; i++) await store.put(`old:${i}`, `${i}`);
    await store.close();
    const leader = await start(dir, 'existing', 'a');
    expect(leader.role).toBe('leader');
    expect(leader.store.get('old:99')).toBe('99');
    await leader.store.put('new', 'write');
    const follower = await start(path.join(await tempDir(), 'empty'), 'existing', 'b');
    await until('the follower has every record', () => follower.store.stats().lastSeq === leader.store.stats().lastSeq);
    expect([...follower.store.entries()]).toEqual([...leader.store.entries()]);
  }, 60_000);

  it('after every NATS server was away longer than the lease, exactly one node leads again and takes writes', async () => {
    const group = 'away';
    const a = await start(path.join(await tempDir(), 'a'), group, 'a');
    const b = await start(path.join(await tempDir(), 'b'), group, 'b');
    await until('one leads', () => [a, b].filter((node) => node.role === 'leader').length === 1);
    for (const node of cluster.nodes) cluster.pause(node);
    await sleep(leaseTtlMs * 4);
    for (const node of cluster.nodes) cluster.resume(node);
    await cluster.ready();
    let leader: ReplicaNode | undefined;
    const deadline = Date.now() + 60_000;
    while (leader === undefined) {
      if (Date.now() > deadline) throw new Error(`no node took writes again: ${JSON.stringify([a.stats(), b.stats()])}`);
      const leaders = [a, b].filter((node) => node.role === 'leader');
      if (leaders.length === 1) {
        const wrote = await leaders[0].store.put('after', 'outage').then(
          (result) => result.ok,
          () => false,
        );
        if (wrote) leader = leaders[0];
      }
      await sleep(200);
    }
    const other = leader === a ? b : a;
    await until('the other follows with a store', () => other.role === 'follower' && other.stats().role === 'follower', 30_000);
    await until('the follower has the write', () => other.store.get('after') === 'outage', 30_000);
  }, 120_000);
});
