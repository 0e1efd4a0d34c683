/**
 * The engine's one replication hook, without NATS: a commit gate holds each group's
 * acknowledgement, in seq order; its first rejection is final (that write, every later one, and new
 * writes are refused); a refusal of writes also pauses active expiry, whose deletes a replica takes
 * from its leader; a frame applied to a replica keeps the leader's seqs.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { encodeReplicationFrame } from '../../src/format/replication-frame.js';
import { NotLeaderError, ReplicationFailedError } from '../../src/errors.js';
import { replicationHook, type CommittedGroup } from '../../src/store.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';

async function openStore(options: { expiryIntervalMs?: number } = {}) {
  const store = closeAfterTest(await DurableKVStore.open(await tempDir(), options));
  return { store, hook: replicationHook(store as DurableKVStore<unknown>) };
}

/** A gate whose every group waits for the test to let it through. */
function manualGate() {
  const held: Array<{ group: CommittedGroup; resolve(): void; reject(error: Error): void }> = [];
  const gate = (group: CommittedGroup) => new Promise<void>((resolve, reject) => held.push({ group, resolve, reject }));
  return { gate, held };
}

const settled = async (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise((resolve) => setTimeout(() => resolve('pending'), 50)),
  ]);

describe('commit gate: acknowledgements wait for it, in seq order', () => {
  it('holds a write until its group is let through, and answers later groups only after earlier ones', async () => {
    const { store, hook } = await openStore();
    const { gate, held } = manualGate();
    hook.setCommitGate(gate);
    const first = store.put('a', '1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = store.put('b', '2');
    while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(held.map(({ group }) => group.records.map((record) => record.seq))).toEqual([[1], [2]]);
    expect(held[0].group.records[0].ops[0]).toMatchObject({ type: 'put', key: 'a', value: '1' });
    held[1].resolve();
    expect(await settled(second)).toBe('pending'); // its group is through, the one before it is not
    expect(store.get('b')).toBe('2'); // durable and applied here meanwhile
    held[0].resolve();
    expect(await first).toEqual({ ok: true, seq: 1 });
    expect(await second).toEqual({ ok: true, seq: 2 });
  });

  it('a rejection is final: that write, the writes after it and new writes are refused with it; reads go on', async () => {
    const { store, hook } = await openStore();
    const { gate, held } = manualGate();
    hook.setCommitGate(gate);
    const first = store.put('a', '1');
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = store.put('b', '2');
    while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const fenced = new NotLeaderError('fenced in a test', 'n2');
    held[0].reject(fenced);
    held[1].resolve();
    await expect(first).rejects.toBe(fenced);
    await expect(second).rejects.toBe(fenced);
    await expect(store.put('c', '3')).rejects.toBe(fenced);
    expect(store.get('a')).toBe('1');
    await store.close();
  });
});

describe('refusing writes', () => {
  it('refuses the API’s writes with the given error and pauses active expiry, until lifted', async () => {
    const { store, hook } = await openStore({ expiryIntervalMs: 10 });
    await store.put('short', 'lived', { ttlMs: 30 });
    const seqBefore = store.stats().lastSeq;
    const refusal = new NotLeaderError('a follower in a test');
    hook.refuseWrites(refusal);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(store.get('short')).toBeUndefined(); // hidden from reads at once
    expect(store.stats().lastSeq).toBe(seqBefore); // but no delete was written: a replica's come from its leader
    await expect(store.put('x', 'y')).rejects.toBe(refusal);
    await expect(store.batch([])).rejects.toBe(refusal);
    hook.refuseWrites(undefined);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(store.stats().lastSeq).toBe(seqBefore + 1); // active expiry's delete, now that it leads
    expect((await store.put('x', 'y')).ok).toBe(true);
  });
});

describe('applying frames on a replica', () => {
  const put = (key: string, value: string) => ({
    type: 'put' as const,
    key,
    keyBytes: key.length,
    value,
    valueBytes: value.length,
    expiresAt: 0,
  });

  it('gives each record the leader’s seq, skips what it has, and refuses a frame after a gap or a damaged one', async () => {
    const { store, hook } = await openStore();
    hook.refuseWrites(new NotLeaderError('a follower in a test'));
    const frame1 = encodeReplicationFrame([
      { seq: 1, ops: [put('a', '1')] },
      { seq: 2, ops: [put('b', '2')] },
    ]);
    const frame2 = encodeReplicationFrame([{ seq: 3, ops: [put('a', '3')] }]);
    const applied = [hook.applyFrame(frame1), hook.applyFrame(frame2)]; // pipelined
    expect(await Promise.all(applied)).toEqual([
      { firstSeq: 1, lastSeq: 2 },
      { firstSeq: 3, lastSeq: 3 },
    ]);
    expect(store.getEntry('a')).toMatchObject({ value: '3', version: 3 });
    expect(await hook.applyFrame(frame2)).toEqual({ firstSeq: 3, lastSeq: 3 }); // already here: nothing written
    const past = encodeReplicationFrame([{ seq: 5, ops: [put('e', '5')] }]);
    await expect(hook.applyFrame(past)).rejects.toBeInstanceOf(ReplicationFailedError); // seq 4 missing
    const damaged = Buffer.from(encodeReplicationFrame([{ seq: 4, ops: [put('c', '4')] }]));
    damaged[damaged.byteLength - 1] ^= 1;
    await expect(hook.applyFrame(damaged)).rejects.toMatchObject({ code: 'ERR_REPLICATION_FAILED' });
    expect(store.stats().lastSeq).toBe(3);
    expect(store.get('c')).toBeUndefined();
  });
});
