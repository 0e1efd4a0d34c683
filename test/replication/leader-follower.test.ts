/**
 * Replication through a real 3-node nats-server cluster: a leader ships its log, a follower applies
 * it in order and refuses writes, 'replicated' acknowledgements wait for the stream, 'local' ones
 * run at most maxLagRecords ahead, a promoted follower fences the old leader off, and the old
 * leader's store is rebuilt from the group's log when it follows again. Skips, naming the package,
 * without nats-server.
 */
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { replicationHook } from '../../src/store.js';
import { follow, type Follower, replicate, type Replicator } from '../../src/replication/index.js';
import { natsServerMissing, useNatsCluster } from '../helpers/nats-cluster.js';
import path from 'node:path';
import { tempDir } from '../helpers/temp-dir.js';

type Store = DurableKVStore<string>;

/** Every entry with its version and expiry: what a replica must hold exactly. */
function contents(store: Store): Array<[string, string, number, number | null]> {
  return [...store.keys()].map((key) => {
    const entry = store.getEntry(key)!;
    return [key, entry.value, entry.version, entry.expiresAt];
  });
}

/** Settles with 'pending' if the promise has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

describe.skipIf(natsServerMissing !== undefined)(`replication leader and follower (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();
  const open: Array<{ close(): Promise<void> }> = [];

  afterAll(async () => {
    for (const item of open.reverse()) await item.close().catch(() => undefined);
  });

  /** A store directory inside a temporary one: a diverged store is moved beside it, and removed with it. */
  const storeDir = async () => path.join(await tempDir(), 'store');

  async function leader(group: string, options: { ack?: 'local' | 'replicated'; maxLagRecords?: number; publishTimeoutMs?: number } = {}) {
    const dir = await storeDir();
    const store = (await DurableKVStore.open(dir)) as Store;
    open.push(store);
    const replicator = await replicate(store, { servers: cluster.urls, group, name: `leader-${group}`, ...options });
    open.push({ close: () => replicator.stop() });
    return { store, replicator, dir };
  }

  async function follower(group: string, dir?: string, servers = cluster.urls): Promise<Follower> {
    const replica = await follow(dir ?? (await storeDir()), { servers, group, name: `follower-${group}` });
    open.push(replica);
    return replica;
  }

  it('a follower applies every kind of write in order and ends with the leader’s keys, values, versions, expiries and change feed', async () => {
    const { store } = await leader('kinds');
    const replica = await follower('kinds');
    await store.put('a', '1');
    await store.put('b', '2', { ttlMs: 3_600_000 });
    await store.batch([
      { type: 'put', key: 'c', value: '3' },
      { type: 'delete', key: 'a' },
      { type: 'increment', key: 'n', delta: 5 },
    ]);
    await store.increment('n', 2);
    await store.expire('c', { ttlMs: 7_200_000 });
    for (let i = 0; i < 200; i++) void store.put(`k${String(i).padStart(3, '0')}`, `v${i}`);
    const last = await store.put('zz', 'last');
    await store.deleteRange({ gte: 'k100', lt: 'k150' });
    await replica.caughtUpTo(store.stats().lastSeq);
    expect(last.ok && last.seq).toBeGreaterThan(200);
    expect(contents(replica.store)).toEqual(contents(store));
    expect(replica.store.get('n')).toBe('7');
    expect(replica.store.stats().lastSeq).toBe(store.stats().lastSeq);
    expect(replica.stats()).toMatchObject({ role: 'follower', leader: 'leader-kinds', epoch: 1, lagRecords: 0 });
    // The follower's change feed is the leader's, record for record, at the same seqs.
    const lastSeq = store.stats().lastSeq;
    const feed = (of: Store) => firstValueFrom(of.changes({ since: 0 }).pipe(take(lastSeq), toArray()));
    expect(await feed(replica.store)).toEqual(await feed(store));
  }, 60_000);

  it('a leader refuses a write too large for one stream message (ERR_INVALID_ARG, nothing written) and goes on; the limit ends with replication', async () => {
    const { store, replicator } = await leader('large');
    const replica = await follower('large');
    const tooLarge = 'x'.repeat(2 * 1024 * 1024); // the test cluster's max_payload is NATS's default, 1 MiB
    await expect(store.put('big', tooLarge)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringMatching(/replication message/),
    });
    await expect(store.batch([{ type: 'put', key: 'big', value: tooLarge }])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    expect(store.get('big')).toBeUndefined();
    const fits = 'y'.repeat(512 * 1024);
    await store.put('fits', fits);
    await replica.caughtUpTo(store.stats().lastSeq);
    expect(replica.store.get('fits')).toBe(fits);
    expect(replicator.stats().failure).toBeUndefined();
    await replicator.stop();
    await expect(store.put('big', tooLarge)).rejects.toMatchObject({ code: 'ERR_NOT_LEADER' }); // stopped: not the leader
    replicationHook(store as DurableKVStore<unknown>).refuseWrites(undefined); // as a store no longer in any group
    expect((await store.put('big', tooLarge)).ok).toBe(true);
  }, 60_000);

  it('a follower refuses writes with ERR_NOT_LEADER naming the leader, and keeps nothing of them', async () => {
    const { store } = await leader('refuse');
    const replica = await follower('refuse');
    await store.put('x', 'leader');
    await replica.caughtUpTo(store.stats().lastSeq);
    for (const write of [
      () => replica.store.put('x', 'follower'),
      () => replica.store.delete('x'),
      () => replica.store.batch([]),
      () => replica.store.increment('n'),
    ]) {
      await expect(write()).rejects.toMatchObject({ code: 'ERR_NOT_LEADER', leader: 'leader-refuse' });
    }
    expect(replica.store.get('x')).toBe('leader');
    expect(replica.store.stats().lastSeq).toBe(store.stats().lastSeq);
  }, 60_000);

  it("ack 'replicated' does not resolve while no NATS server answers, and resolves once the stream holds the write", async () => {
    const { store, replicator } = await leader('acked');
    await store.put('before', '1');
    for (const node of cluster.nodes) cluster.pause(node);
    let write: Promise<unknown>;
    try {
      write = store.put('during', '2');
      expect(await within(write, 1_500)).toBe('pending');
      expect(store.get('during')).toBe('2'); // durable and applied here, not yet acknowledged
    } finally {
      for (const node of cluster.nodes) cluster.resume(node);
    }
    await write;
    expect(replicator.stats()).toMatchObject({ shippedSeq: store.stats().lastSeq, lagRecords: 0 });
    const replica = await follower('acked');
    await replica.caughtUpTo(store.stats().lastSeq);
    expect(replica.store.get('during')).toBe('2');
  }, 60_000);

  it("ack 'local' resolves writes while NATS is down, up to maxLagRecords, then makes writers wait", async () => {
    const { store, replicator } = await leader('local', { ack: 'local', maxLagRecords: 10 });
    await store.put('first', '0');
    await replicator.drained();
    for (const node of cluster.nodes) cluster.pause(node);
    let waiting: Promise<unknown>;
    try {
      for (let i = 1; i <= 10; i++) expect((await within(store.put(`lag${i}`, `${i}`), 5_000)) !== 'pending').toBe(true);
      waiting = store.put('lag11', '11');
      expect(await within(waiting, 1_500)).toBe('pending');
      expect(replicator.stats().lagRecords).toBe(11);
    } finally {
      for (const node of cluster.nodes) cluster.resume(node);
    }
    await waiting;
    await replicator.drained();
    const replica = await follower('local');
    await replica.caughtUpTo(store.stats().lastSeq);
    expect(contents(replica.store)).toEqual(contents(store));
  }, 60_000);

  it('a promoted follower fences the old leader off: none of its later writes reach any follower, and it rebuilds from the log', async () => {
    const group = 'fence';
    const old = await leader(group);
    const promoted = await follower(group);
    const witness = await follower(group);
    await old.store.put('shared', 'from the old leader');
    await witness.caughtUpTo(old.store.stats().lastSeq);
    await promoted.caughtUpTo(old.store.stats().lastSeq);
    const fenced = new Promise((resolve) => old.replicator.once('fenced', resolve));
    // The old leader has not noticed anything (a zombie): the follower takes the lead meanwhile.
    const newLeader: Replicator = await promoted.promote();
    open.push({ close: () => newLeader.stop() });
    expect(newLeader.epoch).toBe(2);
    await promoted.store.put('after', 'from the new leader');
    const zombieWrite = old.store.put('zombie', 'must not replicate');
    await expect(zombieWrite).rejects.toMatchObject({ code: 'ERR_NOT_LEADER' });
    expect(await fenced).toMatchObject({ code: 'ERR_NOT_LEADER' });
    await expect(old.store.put('again', 'x')).rejects.toMatchObject({ code: 'ERR_NOT_LEADER' });
    await witness.caughtUpTo(promoted.store.stats().lastSeq);
    expect(witness.store.get('zombie')).toBeUndefined();
    expect(witness.store.get('after')).toBe('from the new leader');
    expect(contents(witness.store)).toEqual(contents(promoted.store));
    // The old leader's store holds its refused write: following again moves it aside and rebuilds.
    await old.replicator.stop();
    await old.store.close();
    const rejoined = await follower(group, old.dir);
    // Its record 2 (the refused write) is not the stream's record 2 (the new leader's).
    expect(rejoined.rebuiltFrom?.reason).toMatch(/not the stream's/);
    await rejoined.caughtUpTo(promoted.store.stats().lastSeq);
    expect(contents(rejoined.store)).toEqual(contents(promoted.store));
    expect(rejoined.store.get('zombie')).toBeUndefined();
  }, 90_000);

  it('a follower that stops and follows again resumes after its last record, applying nothing twice', async () => {
    const { store } = await leader('resume');
    const dir = await storeDir();
    let replica = await follower('resume', dir);
    for (let i = 0; i < 50; i++) await store.increment('count');
    await replica.caughtUpTo(store.stats().lastSeq);
    await replica.close();
    for (let i = 0; i < 50; i++) await store.increment('count');
    replica = await follower('resume', dir);
    await replica.caughtUpTo(store.stats().lastSeq);
    expect(replica.store.get('count')).toBe('100');
    expect(contents(replica.store)).toEqual(contents(store));
    expect(replica.rebuiltFrom).toBeUndefined();
  }, 60_000);

  it('writes go on with one NATS server killed, and again after it restarts and another is killed', async () => {
    const { store, replicator } = await leader('outage', { publishTimeoutMs: 2_000 });
    // Connected through the server killed first (it learns the others from it): its consumer is lost with it.
    const replica = await follower('outage', undefined, [cluster.nodes[0].url]);
    let written = 0;
    const writeSome = async (count: number) => {
      for (let i = 0; i < count; i++) await store.put(`key${written}`, `value${written++}`);
    };
    await writeSome(20);
    for (const [down, back] of [
      [cluster.nodes[0], undefined],
      [cluster.nodes[1], cluster.nodes[0]],
    ] as const) {
      if (back !== undefined) {
        cluster.restart(back);
        await cluster.ready();
      }
      await cluster.kill(down);
      await writeSome(20); // each acknowledged only once the stream (2 of 3 servers) holds it
    }
    cluster.restart(cluster.nodes[1]);
    await cluster.ready();
    expect(replicator.stats()).toMatchObject({ shippedSeq: 60, lagRecords: 0, failure: undefined });
    await replica.caughtUpTo(60, 60_000);
    console.log(`outage: follower consumer restarts ${replica.stats().consumerRestarts}`);
    expect(contents(replica.store)).toEqual(contents(store));
  }, 120_000);
});
