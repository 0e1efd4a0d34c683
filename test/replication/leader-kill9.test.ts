/**
 * Issue 13's scenarios 1 and 5 against a real 3-node nats-server cluster: a leader process is
 * killed with SIGKILL under load, and a follower takes over: with ack 'replicated' an elected node
 * (the dead leader's lease runs out) holds every write acknowledged before the kill, and the time
 * to take over is reported; with ack 'local' (promoted by hand) at most maxLagRecords acknowledged writes are
 * lost, and what the follower holds is a prefix of the dead leader's own log (same records, same seqs). Skips, naming
 * the package, without nats-server.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { follow, type ReplicaNode, runReplicaNode } from '../../src/replication/index.js';
import { natsServerMissing, useNatsCluster } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/temp-dir.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const leaderScript = path.join(projectRoot, 'test/fixtures/replicated-leader.ts');
/** Acknowledged writes before the kill. */
const ackedBeforeKill = 400;

describe.skipIf(natsServerMissing !== undefined)(`kill -9 of a replicated leader (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();

  /** Runs a leader process until `ackedBeforeKill` acknowledgements, kills it; resolves the keys it acknowledged. */
  async function killLeaderUnderLoad(
    dir: string,
    group: string,
    ack: string,
    maxLagRecords?: number,
    leaseTtlMs?: number,
    onReady: () => Promise<void> = async () => undefined,
  ): Promise<Set<string>> {
    const args = [dir, cluster.urls.join(','), group, ack, maxLagRecords === undefined ? '-' : String(maxLagRecords)];
    if (leaseTtlMs !== undefined) args.push(String(leaseTtlMs));
    const child = spawn(process.execPath, ['--import', 'tsx', leaderScript, ...args], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const acked = new Set<string>();
    let pending = '';
    let ready = false;
    let readyDone: Promise<void> | undefined;
    await new Promise<void>((resolve, reject) => {
      child.once('exit', () => reject(new Error('the leader process exited before the kill')));
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop() ?? ''; // a line cut by the kill was not printed whole: not counted
        for (const line of lines) {
          if (line === 'READY') {
            ready = true;
            readyDone = onReady();
          } else if (ready) acked.add(line);
        }
        if (acked.size >= ackedBeforeKill && readyDone !== undefined) void readyDone.then(() => resolve(), reject);
      });
    });
    child.kill('SIGKILL');
    await exited;
    return acked;
  }

  it("ack 'replicated': an elected follower takes over with every acknowledged write", async () => {
    const leaseTtlMs = 1_500;
    const group = 'kill9';
    const leaderDir = path.join(await tempDir(), 'leader');
    // The leader process takes the lease first; this node follows it under load, and is elected once it dies.
    let node: ReplicaNode | undefined;
    const acked = await killLeaderUnderLoad(leaderDir, group, 'replicated', undefined, leaseTtlMs, async () => {
      node = await runReplicaNode(path.join(await tempDir(), 'follower'), { servers: cluster.urls, group, name: 'follower', leaseTtlMs });
    });
    const killedAt = Date.now();
    if (node === undefined) throw new Error('the follower node did not start');
    expect(node.role).toBe('follower');
    while (node.role !== 'leader') await new Promise((resolve) => setTimeout(resolve, 20));
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `kill -9 under load: the follower node was elected and took writes ${takeoverMs} ms after the kill (lease TTL ${leaseTtlMs} ms)`,
    );
    const lost = [...acked].filter((key) => node?.store.get(key) !== `v${key.split(':')[1]}`);
    expect(lost, `${lost.length} of ${acked.size} acknowledged writes missing`).toEqual([]);
    expect((await node.store.put('after', 'takeover')).ok).toBe(true);
    await node.close();
  }, 90_000);

  it("ack 'local': at most maxLagRecords acknowledged writes are lost, and the follower holds a prefix of the leader's log", async () => {
    const maxLagRecords = 50;
    const leaderDir = path.join(await tempDir(), 'leader');
    const replica = await follow(path.join(await tempDir(), 'follower'), { servers: cluster.urls, group: 'local9', name: 'follower' });
    const acked = await killLeaderUnderLoad(leaderDir, 'local9', 'local', maxLagRecords);
    const leader = await replica.promote();
    const lost = [...acked].filter((key) => replica.store.get(key) === undefined);
    console.log(`ack 'local', maxLagRecords ${maxLagRecords}: ${lost.length} of ${acked.size} acknowledged writes lost with the leader`);
    expect(lost.length).toBeLessThanOrEqual(maxLagRecords);
    // The dead leader's own log, reopened: every record the follower holds is the leader's, at the same seq.
    await leader.stop();
    const dead = await DurableKVStore.open(leaderDir);
    expect(dead.stats().lastSeq).toBeGreaterThanOrEqual(replica.store.stats().lastSeq);
    const followerEntries = [...replica.store.keys()].map((key) => [
      key,
      replica.store.getEntry(key)?.value,
      replica.store.getEntry(key)?.version,
    ]);
    const leaderEntries = followerEntries.map(([key]) => [key, dead.getEntry(key as string)?.value, dead.getEntry(key as string)?.version]);
    expect(followerEntries).toEqual(leaderEntries);
    await dead.close();
    await replica.store.close();
  }, 90_000);
});
