/**
 * What replication will stand on, checked against the NATS this project installs (Debian's
 * nats-server 2.9.10) in a real 3-node cluster: an R3 file stream; `Nats-Expected-Last-Sequence`
 * refuses a publish whose expectation is stale — the fence a zombie leader runs into — with one
 * node down too; and `Nats-Msg-Id` makes a retried publish a duplicate, not a second message.
 * (Issue 13 forbids relying on Expected-Last-Subject-Sequence: nats-server < 2.9.21 checks it only
 * on the leader, nats-server issue #4320.) Skips, naming the package, without nats-server.
 */
import { type JetStreamManager, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServerMissing, useNatsCluster } from '../helpers/nats-cluster.js';

describe.skipIf(natsServerMissing !== undefined)(
  `JetStream fencing on a 3-node cluster (${natsServerMissing ?? 'nats-server found'})`,
  () => {
    const cluster = useNatsCluster();
    let nc: NatsConnection;
    let jsm: JetStreamManager;

    beforeAll(async () => {
      nc = await connect({ servers: cluster.urls });
      jsm = await jetstreamManager(nc);
    }, 60_000);

    afterAll(async () => {
      await nc?.close();
    });

    /** Resolves once the stream has a leader other than `not` (a killed node's stream leadership moves by Raft election). */
    async function streamLeader(stream: string, not: string): Promise<string> {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const leader = await jsm.streams.info(stream).then(
          (info) => info.cluster?.leader,
          () => undefined,
        );
        if (leader !== undefined && leader !== not) return leader;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`stream ${stream} has no leader but ${not}`);
    }

    const publishError = (promise: Promise<unknown>) =>
      promise.then(
        () => 'published',
        (error: Error) => error.message,
      );

    it('elects one meta leader that every node reports', async () => {
      const leaders = await Promise.all(cluster.nodes.map((node) => cluster.metaLeader(node)));
      expect(new Set(leaders).size).toBe(1);
      expect(['n1', 'n2', 'n3']).toContain(leaders[0]);
    });

    it('refuses a publish whose expected last sequence is stale, in clustered mode, with a node down too', async () => {
      await jsm.streams.add({ name: 'DKV_fence', subjects: ['dkv.fence.log'], storage: StorageType.File, num_replicas: 3 });
      const js = jetstream(nc);
      const first = await js.publish('dkv.fence.log', 'group 1', { expect: { lastSequence: 0 } });
      const second = await js.publish('dkv.fence.log', 'group 2', { expect: { lastSequence: first.seq } });
      expect([first.seq, second.seq]).toEqual([1, 2]);
      // A leader that did not see `second` (a zombie) still expects 1: refused, nothing appended.
      expect(await publishError(js.publish('dkv.fence.log', 'zombie', { expect: { lastSequence: first.seq } }))).toMatch(
        /wrong last sequence/,
      );
      await cluster.kill(cluster.nodes[2]);
      await streamLeader('DKV_fence', 'n3'); // a publish to a stream electing its leader times out: outcome unknown
      expect(await publishError(js.publish('dkv.fence.log', 'zombie again', { expect: { lastSequence: first.seq } }))).toMatch(
        /wrong last sequence/,
      );
      const third = await js.publish('dkv.fence.log', 'group 3', { expect: { lastSequence: second.seq } });
      expect(third.seq).toBe(3);
      expect((await jsm.streams.info('DKV_fence')).state.messages).toBe(3);
      cluster.restart(cluster.nodes[2]);
      await cluster.ready();
    }, 60_000);

    it('deduplicates a retried publish by Nats-Msg-Id', async () => {
      await jsm.streams.add({ name: 'DKV_dedupe', subjects: ['dkv.dedupe.log'], storage: StorageType.File, num_replicas: 3 });
      const js = jetstream(nc);
      const sent = await js.publish('dkv.dedupe.log', 'group at seq 1', { msgID: 'dedupe:1:1' });
      const retried = await js.publish('dkv.dedupe.log', 'group at seq 1', { msgID: 'dedupe:1:1' });
      expect(sent.duplicate).toBe(false);
      expect(retried.duplicate).toBe(true);
      expect(retried.seq).toBe(sent.seq);
      expect((await jsm.streams.info('DKV_dedupe')).state.messages).toBe(1);
    }, 30_000);

    it('answers a retry of a fenced publish that landed with "duplicate", not "wrong last sequence"', async () => {
      // The leader's way to learn the outcome of a publish that timed out: the same Msg-Id and
      // expectation again. The dedupe check must come before the expectation's, or a landed
      // publish would read as a fence.
      await jsm.streams.add({ name: 'DKV_retry', subjects: ['dkv.retry.log'], storage: StorageType.File, num_replicas: 3 });
      const js = jetstream(nc);
      const options = { msgID: 'retry:1:1', expect: { lastSequence: 0 } };
      const sent = await js.publish('dkv.retry.log', 'records 1..3', options);
      const retried = await js.publish('dkv.retry.log', 'records 1..3', options);
      expect(retried).toMatchObject({ duplicate: true, seq: sent.seq });
      expect(await publishError(js.publish('dkv.retry.log', 'records 1..3', { ...options, msgID: 'retry:1:other' }))).toMatch(
        /wrong last sequence/,
      );
    }, 30_000);
  },
);
