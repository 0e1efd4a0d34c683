/**
 * Replication through NATS JetStream, end to end: a 3-node nats-server cluster, two
 * `durable-kv serve --replicate` nodes (one leads, one follows), 500 SETs through ioredis to the
 * leader, then the leader is killed with SIGKILL. The follower takes the lead once the dead
 * leader's lease runs out, and holds every SET the dead leader acknowledged.
 *
 *   npm run example:replication      (needs nats-server: apt-get install -y nats-server)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, NatsCluster, natsServerMissing } from '../src/testing/index.js';

if (natsServerMissing !== undefined) {
  console.error(`This example runs real NATS servers. ${natsServerMissing}`);
  process.exit(1);
}

const cli = path.join(import.meta.dirname, '../src/cli/main.ts');
const leaseTtlMs = 2_000;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-replication-'));
const nats = await NatsCluster.start(3);
console.log(`NATS: 3 JetStream servers on ${nats.urls.join(', ')}`);
const nodes: Array<{ name: string; child: ChildProcess; redis: Redis }> = [];

try {
  for (const name of ['a', 'b']) nodes.push(await startNode(name));
  const leader = await waitForLeader(nodes);
  const follower = nodes.find((node) => node !== leader)!;
  console.log(`${leader.name} leads, ${follower.name} follows`);

  const acknowledged: string[] = [];
  for (let i = 0; i < 500; i++) {
    if ((await leader.redis.set(`order:${i}`, `paid-${i}`)) === 'OK') acknowledged.push(`order:${i}`);
  }
  console.log(
    `${acknowledged.length} SETs acknowledged by ${leader.name} (each durable on its disk and held by a majority of NATS servers)`,
  );
  console.log(`a write to the follower: ${await follower.redis.set('x', 'y').catch((error: Error) => error.message)}`);

  leader.child.kill('SIGKILL');
  const killedAt = Date.now();
  console.log(`killed ${leader.name} with SIGKILL`);
  await waitForLeader([follower]);
  console.log(`${follower.name} took the lead after ${Date.now() - killedAt} ms (lease TTL ${leaseTtlMs} ms + promotion)`);

  const values = await follower.redis.mget(...acknowledged);
  const lost = acknowledged.filter((key, index) => values[index] !== `paid-${key.split(':')[1]}`);
  console.log(`${acknowledged.length - lost.length} of ${acknowledged.length} acknowledged SETs on the new leader; lost: ${lost.length}`);
  console.log(`a write to the new leader: ${await follower.redis.set('after', 'failover')}`);
  if (lost.length > 0) process.exitCode = 1;
} finally {
  for (const node of nodes) {
    node.redis.disconnect();
    node.child.kill('SIGKILL');
  }
  await nats.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}

async function startNode(name: string): Promise<{ name: string; child: ChildProcess; redis: Redis }> {
  const port = await freePort();
  const args = ['--import', 'tsx', cli, 'serve', path.join(workDir, name), '--port', String(port)];
  args.push('--replicate', nats.urls.join(','), '--group', 'orders', '--lease-ttl-ms', String(leaseTtlMs));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  while (!stderr.includes('serving ')) {
    if (child.exitCode !== null) throw new Error(`node ${name} exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return { name: `node ${name} (127.0.0.1:${port})`, child, redis };
}

/** The one node among `candidates` whose INFO replication says role:master. */
async function waitForLeader<T extends { redis: Redis }>(candidates: T[]): Promise<T> {
  for (;;) {
    for (const node of candidates) {
      const info = await node.redis.info('replication').catch(() => '');
      if (info.includes('role:master')) return node;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
