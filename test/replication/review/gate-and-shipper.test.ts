/**
 * Regressions found by an independent review of the first replication change (helper-24), each
 * failing before its fix: a close while the gate held a write broke the settle check; answers
 * without a record slipped past held writes; a replica frame refused halfway shifted the leader's
 * seqs; one rejection poisoned every later leadership; an oversized record hung its writer and
 * `drained()` spun forever.
 */
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../../src/index.js';
import { NotLeaderError } from '../../../src/errors.js';
import { encodeReplicationFrame } from '../../../src/format/replication-frame.js';
import { Shipper } from '../../../src/replication/shipper.js';
import { type CommittedGroup, replicationHook } from '../../../src/store.js';
import { closeAfterTest, tempDir } from '../../helpers/temp-dir.js';

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));
const state = (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    ),
    tick(30).then(() => 'pending'),
  ]);

async function open(options: { mailboxWritesMax?: number } = {}) {
  const store = closeAfterTest(await DurableKVStore.open(await tempDir(), options));
  return { store, hook: replicationHook(store as DurableKVStore<unknown>) };
}

describe('review: the commit gate', () => {
  it('close() while the gate holds a write waits for it, and the write is acknowledged', async () => {
    const { store, hook } = await open();
    hook.setCommitGate(() => new Promise<void>((resolve) => setTimeout(resolve, 200)));
    const write = store.put('a', '1');
    await tick(50);
    await store.close();
    expect(await write).toEqual({ ok: true, seq: 1 });
  });

  it('a failed check and a barrier after a held write wait for it, and share its rejection', async () => {
    const { store, hook } = await open();
    const held: Array<(error: Error) => void> = [];
    hook.setCommitGate(() => new Promise<void>((_resolve, reject) => held.push(reject)));
    const first = store.put('k', 'v');
    while (held.length === 0) await tick(5);
    const second = store.put('k', 'w', { ifAbsent: true });
    const barrier = hook.barrier();
    await tick(50);
    expect([await state(second), await state(barrier)]).toEqual(['pending', 'pending']);
    held[0](new NotLeaderError('fenced in a test'));
    await expect(first).rejects.toThrow('fenced in a test');
    await expect(second).rejects.toThrow('fenced in a test');
    await expect(barrier).rejects.toThrow('fenced in a test');
  });

  it('a new gate after a rejection takes writes again', async () => {
    const { store, hook } = await open();
    hook.setCommitGate(() => Promise.reject(new Error('replication stopped')));
    await expect(store.put('a', '1')).rejects.toThrow('replication stopped');
    hook.setCommitGate(undefined);
    hook.refuseWrites(undefined);
    const shipped: number[] = [];
    hook.setCommitGate((group: CommittedGroup) => {
      shipped.push(group.firstSeq);
      return undefined;
    });
    expect(await store.put('b', '2')).toEqual({ ok: true, seq: 2 });
    expect(shipped).toEqual([2]);
  });
});

describe('review: applying frames', () => {
  it('a frame the mailbox cannot take whole is refused whole: no record lands at another seq', async () => {
    const { store, hook } = await open({ mailboxWritesMax: 2 });
    hook.refuseWrites(new NotLeaderError('a follower in a test'));
    const record = (seq: number) => ({
      seq,
      ops: [
        { type: 'put' as const, key: `k${seq}`, keyBytes: `k${seq}`.length, value: `v${seq}`, valueBytes: `v${seq}`.length, expiresAt: 0 },
      ],
    });
    await expect(hook.applyFrame(encodeReplicationFrame([1, 2, 3, 4, 5].map(record)))).rejects.toMatchObject({
      code: 'ERR_STORE_OVERLOADED',
    });
    await expect(hook.applyFrame(encodeReplicationFrame([record(6)]))).rejects.toMatchObject({ code: 'ERR_REPLICATION_FAILED' });
    expect(hook.lastSeq).toBe(0);
    expect(store.get('k6')).toBeUndefined();
    // A frame that overlaps what the store has (a crash kept part of it) applies only the rest.
    expect(await hook.applyFrame(encodeReplicationFrame([1, 2].map(record)))).toEqual({ firstSeq: 1, lastSeq: 2 });
    expect(await hook.applyFrame(encodeReplicationFrame([2, 3].map(record)))).toEqual({ firstSeq: 2, lastSeq: 3 });
    expect([store.getEntry('k2')?.version, store.getEntry('k3')?.version, hook.lastSeq]).toEqual([2, 3, 3]);
  });
});

describe('review: the shipper', () => {
  it('a record larger than a message fails its write with ERR_REPLICATION_FAILED, and drained() returns', async () => {
    const publish = async () => ({ seq: 2, duplicate: false });
    const shipper = new Shipper({
      js: { publish } as never,
      jsm: {} as never,
      group: 'g',
      epoch: 1,
      streamSeq: 1,
      shippedSeq: 0,
      ack: 'replicated',
      maxLagRecords: 0,
      payloadBytesMax: 2048,
      publishTimeoutMs: 1000,
      onFenced: () => undefined,
    });
    const big = { seq: 1, ops: [{ type: 'put' as const, key: 'k', keyBytes: 1, value: 'x'.repeat(4000), valueBytes: 4000, expiresAt: 0 }] };
    const wait = shipper.gate({ firstSeq: 1, records: [big] });
    await expect(wait).rejects.toMatchObject({ code: 'ERR_REPLICATION_FAILED' });
    expect(await state(shipper.drained())).toBe('resolved');
  });
});
